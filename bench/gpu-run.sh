#!/usr/bin/env bash
# Runs the benchmarks on a Linux NVIDIA machine with no network, from the repo root,
# with the bundle made by scripts/bench-bundle.sh carried as .bundle:
#   1. Vulkan loader: if none is installed, the bundled libvulkan1 is unpacked
#      (dpkg -x into --debs-root, default /, then ldconfig);
#   2. node, dawn.node and the built engine are unpacked into --rt (default /tmp);
#   3. the WebGPU adapter is checked and described (adapter.json);
#   4. the WebGPU bench: `node dist/cli.js bench ARGS` (webgpu-bench*.json);
#   5. the PyTorch bench: bench/pytorch_bench.py (pytorch-bench.json).
# Everything goes to --out (default $OUT, else bench/results) with a log, gpu-run.log.
#
#   bash bench/gpu-run.sh [OPTIONS] [WEBGPU BENCH ARGS ...] [-- PYTORCH BENCH ARGS ...]
# options: --out DIR, --rt DIR, --debs-root DIR, --no-webgpu, --no-pytorch,
#          --setup-only (steps 1-3). Without WebGPU args two runs are made: stride 16
#          at 224..1248 and stride 8 at 224, Vim-Ti and Vim-S, batch 1, 8 and 64.
# Time limits (s): WEBGPU_TIMEOUT per WebGPU run (900), PYTORCH_TIMEOUT (240). On an
# H200 the default WebGPU runs take an estimated 7-8 minutes (Vim-S at 1024-1248 px and batch 64
# most of it); where commands are limited to 10 minutes, split them: --model vim_ti first,
# then --model vim_s --no-pytorch.
set -uo pipefail
cd "$(dirname "$0")/.."
repo=$(pwd)

bundle=${BUNDLE:-.bundle}
out=${OUT:-bench/results}
rt=/tmp/vim-webgpu-rt
debs_root=/
run_webgpu=1
run_torch=1
setup_only=0
webgpu_args=()
torch_args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --out) out="$2"; shift ;;
    --rt) rt="$2"; shift ;;
    --debs-root) debs_root="$2"; shift ;;
    --no-webgpu) run_webgpu=0 ;;
    --no-pytorch) run_torch=0 ;;
    --setup-only) setup_only=1 ;;
    --) shift; torch_args=("$@"); break ;;
    *) webgpu_args+=("$1") ;;
  esac
  shift
done
mkdir -p "$out"
out=$(cd "$out" && pwd)
say() { echo "gpu-run: $*"; }

unxz_to() {  # xz may be missing on the GPU image; Python's lzma never is
  if command -v xz >/dev/null; then xz -dc "$1" >"$2"
  else python3 -c 'import lzma, shutil, sys; shutil.copyfileobj(lzma.open(sys.argv[1]), open(sys.argv[2], "wb"))' "$1" "$2"
  fi
}

extract_deb() {  # dpkg -x, or the same by hand (ar archive holding data.tar.*)
  if command -v dpkg >/dev/null; then dpkg -x "$1" "$2"; return; fi
  python3 - "$1" "$2" <<'EOF'
import io, sys, tarfile
data = open(sys.argv[1], "rb").read()
pos = 8  # after "!<arch>\n"
while pos < len(data):
    name, size = data[pos:pos + 16].decode().strip().rstrip("/"), int(data[pos + 48:pos + 58])
    if name.startswith("data.tar"):
        kw = {"filter": "tar"} if hasattr(tarfile, "tar_filter") else {}  # no warning on 3.12+
        tarfile.open(fileobj=io.BytesIO(data[pos + 60:pos + 60 + size])).extractall(sys.argv[2], **kw)
    pos += 60 + size + (size & 1)
EOF
}

main() {  # (not indented: it is the whole script)
status=0
[ -s "$bundle/node.xz" ] && [ -f "$bundle/app/dist/cli.js" ] \
  || { say "no complete bundle at $bundle (make it with: bash scripts/bench-bundle.sh)"; return 1; }
say "$(head -n2 "$bundle/MANIFEST" | tr '\n' ' ')"

# 1. Vulkan loader.
if [ "$debs_root" = / ] && ldconfig -p 2>/dev/null | grep -q 'libvulkan.so.1 '; then
  say "Vulkan loader already installed"
else
  mkdir -p "$debs_root"
  for f in "$bundle"/debs/*.deb; do extract_deb "$f" "$debs_root"; done
  if [ "$debs_root" = / ]; then
    ldconfig
  else  # a private root (testing): point the dynamic loader at it instead
    export LD_LIBRARY_PATH="$(cd "$debs_root" && pwd)/usr/lib/x86_64-linux-gnu${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}"
  fi
  say "Vulkan loader unpacked into $debs_root"
fi

# 2. Runtime tree: $rt/node and $rt/app (dist, node_modules incl. webgpu, adapter probe).
rm -rf "$rt/app"
mkdir -p "$rt/app/node_modules/webgpu/dist/linux-x64"
cp -r "$bundle/app/." "$rt/app/"
cp "$bundle"/webgpu/*.js "$bundle"/webgpu/*.json "$rt/app/node_modules/webgpu/"
unxz_to "$bundle/dawn.node.xz" "$rt/app/node_modules/webgpu/dist/linux-x64/dawn.node"
unxz_to "$bundle/node.xz" "$rt/node"
chmod +x "$rt/node"
node="$rt/node"
say "node $("$node" --version) at $node"

# 3. Adapter. The NVIDIA image may ship its ICD outside the loader's search path.
nvidia_icd=/usr/local/nvidia/share/vulkan/icd.d/nvidia_icd.json
have_icd() {
  [ -n "${VK_DRIVER_FILES:-}${VK_ICD_FILENAMES:-}" ] && return 0
  for d in /etc/vulkan/icd.d /usr/share/vulkan/icd.d /usr/local/share/vulkan/icd.d /usr/local/etc/vulkan/icd.d; do
    ls "$d"/*.json >/dev/null 2>&1 && return 0
  done
  return 1
}
if ! have_icd && [ -f "$nvidia_icd" ]; then
  export VK_DRIVER_FILES=$nvidia_icd
  say "no Vulkan ICD in the standard places: VK_DRIVER_FILES=$nvidia_icd"
fi
if ! (cd "$rt/app" && "$node" adapter-info.mjs --json "$out/adapter.json"); then
  if [ -z "${VK_DRIVER_FILES:-}" ] && [ -f "$nvidia_icd" ]; then
    export VK_DRIVER_FILES=$nvidia_icd
    say "retrying with VK_DRIVER_FILES=$nvidia_icd"
    (cd "$rt/app" && "$node" adapter-info.mjs --json "$out/adapter.json") || status=1
  else
    status=1
  fi
fi
[ "$status" = 0 ] || say "no usable WebGPU adapter"
grep -q '"isFallbackAdapter": true' "$out/adapter.json" 2>/dev/null \
  && say "WARNING: software adapter: WebGPU numbers measure nothing about the GPU"
[ "$setup_only" = 1 ] && return "$status"

# 4. WebGPU bench.
webgpu_bench() {  # NAME ARGS...: one run of the CLI's bench, JSON to $out/NAME.json
  local name=$1; shift
  say "webgpu bench $*"
  (cd "$rt/app" && timeout "${WEBGPU_TIMEOUT:-900}" "$node" dist/cli.js bench "$@" --json "$out/$name.json") \
    || { say "webgpu bench '$name' failed (rc $?)"; status=1; }
}
if [ "$run_webgpu" = 1 ] && [ "$status" = 0 ]; then
  if [ ${#webgpu_args[@]} -gt 0 ]; then
    webgpu_bench webgpu-bench "${webgpu_args[@]}"
  else
    webgpu_bench webgpu-bench --model vim_ti,vim_s --size 224,512,1024,1248 --batch 1,8,64 --stride 16 --scan chunked --runs 20
    webgpu_bench webgpu-bench-s8 --model vim_ti,vim_s --size 224 --batch 1,8,64 --stride 8 --scan chunked --runs 20
  fi
fi

# 5. PyTorch bench (the image's python3 has torch and timm).
if [ "$run_torch" = 1 ]; then
  say "pytorch bench ${torch_args[*]}"
  timeout "${PYTORCH_TIMEOUT:-240}" python3 "$repo/bench/pytorch_bench.py" --json "$out/pytorch-bench.json" "${torch_args[@]}" \
    || { say "pytorch bench failed (rc $?)"; status=1; }
fi
say "done (status $status); results in $out: $(cd "$out" && ls | tr '\n' ' ')"
return "$status"
}

# A pipeline, not `exec > >(tee)`: the log is complete when the script exits.
main 2>&1 | tee -a "$out/gpu-run.log"
exit "${PIPESTATUS[0]}"
