// Prints what Dawn (the `webgpu` package) sees: the adapter's info, features and
// limits, then proves a device can be made. Used by bench/gpu-run.sh before the
// benchmark, and to test the offline bundle here with a software Vulkan driver.
//
//   node bench/adapter-info.mjs [--json FILE] [DAWN_TOGGLE ...]
import { writeFileSync } from 'node:fs';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const args = process.argv.slice(2);
const jsonAt = args.indexOf('--json');
const jsonFile = jsonAt >= 0 ? args.splice(jsonAt, 2)[1] : undefined;

// Dawn's objects expose these as prototype getters, so spread/keys miss them: ask by name.
const INFO = ['vendor', 'architecture', 'device', 'description', 'subgroupMinSize', 'subgroupMaxSize', 'isFallbackAdapter'];
const LIMITS = [
  'maxTextureDimension1D', 'maxTextureDimension2D', 'maxTextureDimension3D', 'maxTextureArrayLayers',
  'maxBindGroups', 'maxBindGroupsPlusVertexBuffers', 'maxBindingsPerBindGroup',
  'maxDynamicUniformBuffersPerPipelineLayout', 'maxDynamicStorageBuffersPerPipelineLayout',
  'maxSampledTexturesPerShaderStage', 'maxSamplersPerShaderStage', 'maxStorageBuffersPerShaderStage',
  'maxStorageTexturesPerShaderStage', 'maxUniformBuffersPerShaderStage', 'maxUniformBufferBindingSize',
  'maxStorageBufferBindingSize', 'minUniformBufferOffsetAlignment', 'minStorageBufferOffsetAlignment',
  'maxVertexBuffers', 'maxBufferSize', 'maxVertexAttributes', 'maxVertexBufferArrayStride',
  'maxInterStageShaderVariables', 'maxColorAttachments', 'maxColorAttachmentBytesPerSample',
  'maxComputeWorkgroupStorageSize', 'maxComputeInvocationsPerWorkgroup', 'maxComputeWorkgroupSizeX',
  'maxComputeWorkgroupSizeY', 'maxComputeWorkgroupSizeZ', 'maxComputeWorkgroupsPerDimension',
];

function pick(obj, names) {
  const out = {};
  for (const k of names) if (obj?.[k] !== undefined) out[k] = obj[k];
  for (const k in obj) if (!(k in out) && typeof obj[k] !== 'function') out[k] = obj[k];
  return out;
}

const gpu = create(args);
const adapter = await gpu.requestAdapter({ powerPreference: 'high-performance' });
if (!adapter) {
  console.error('adapter-info: no WebGPU adapter (is a Vulkan loader and driver installed?)');
  process.exit(1);
}
const report = {
  info: pick(adapter.info, INFO),
  isFallbackAdapter: adapter.isFallbackAdapter ?? adapter.info?.isFallbackAdapter,
  features: [...adapter.features].sort(),
  limits: pick(adapter.limits, LIMITS),
};
const device = await adapter.requestDevice();
report.deviceCreated = true;
device.destroy();

const i = report.info;
console.log(`adapter: ${[i.vendor, i.architecture, i.device, i.description].filter(Boolean).join(' | ')}` +
  (report.isFallbackAdapter ? ' (software fallback)' : ''));
console.log(`features: ${report.features.join(' ')}`);
console.log(`limits: ${Object.entries(report.limits).map(([k, v]) => `${k}=${v}`).join(' ')}`);
if (jsonFile) writeFileSync(jsonFile, JSON.stringify(report, null, 1));
process.exit(0); // dawn keeps the event loop alive while `gpu` is reachable
