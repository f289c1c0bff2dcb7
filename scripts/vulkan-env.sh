# Sourced by scripts that run WebGPU in Node on a machine with no GPU. Unless a
# Vulkan driver is chosen already, use Mesa's lavapipe when installed (fast), else
# the SwiftShader driver that Debian's chromium package ships.
if [ -z "${VK_ICD_FILENAMES:-}${VK_DRIVER_FILES:-}" ]; then
  if [ -f /usr/share/vulkan/icd.d/lvp_icd.json ] && ldconfig -p 2>/dev/null | grep -q libvulkan.so.1; then
    export VK_ICD_FILENAMES=/usr/share/vulkan/icd.d/lvp_icd.json
  elif [ -f /usr/lib/chromium/vk_swiftshader_icd.json ]; then
    ldconfig -p 2>/dev/null | grep -q libvulkan.so.1 || export LD_LIBRARY_PATH="/usr/lib/chromium${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
    export VK_ICD_FILENAMES=/usr/lib/chromium/vk_swiftshader_icd.json
  fi
fi
