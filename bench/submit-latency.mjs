// The floor under every wall-clock figure: how long Dawn for Node takes to report
// that a queue submission finished, for an empty submit, one tiny dispatch, and a
// 4-byte readback (copy + mapAsync). Run where the bench runs (bench/gpu-run.sh's
// app folder), so `webgpu` resolves to the bundled Dawn.
//
//   node bench/submit-latency.mjs [--runs 200] [--json FILE]
import { writeFileSync } from 'node:fs';
import { create, globals } from 'webgpu';

Object.assign(globalThis, globals);
const args = process.argv.slice(2);
const opt = (name, dflt) => { const i = args.indexOf(name); return i >= 0 ? args[i + 1] : dflt; };
const runs = Number(opt('--runs', 200));

const gpu = create([]);  // keep a reference: Dawn crashes if the GPU object is collected
const adapter = await gpu.requestAdapter();
const device = await adapter.requestDevice();
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[s.length >> 1]; };

async function measure(name, once) {
  for (let i = 0; i < 10; i++) await once();
  const ms = [];
  for (let i = 0; i < runs; i++) { const t0 = performance.now(); await once(); ms.push(performance.now() - t0); }
  const r = { name, medianMs: median(ms), minMs: Math.min(...ms) };
  console.log(`${name.padEnd(34)} median ${r.medianMs.toFixed(3)} ms  min ${r.minMs.toFixed(3)} ms`);
  return r;
}

const storage = device.createBuffer({ size: 256, usage: GPUBufferUsage.STORAGE | GPUBufferUsage.COPY_SRC });
const staging = device.createBuffer({ size: 4, usage: GPUBufferUsage.MAP_READ | GPUBufferUsage.COPY_DST });
const pipeline = device.createComputePipeline({
  layout: 'auto',
  compute: { module: device.createShaderModule({ code: '@group(0) @binding(0) var<storage, read_write> x: array<u32>;\n@compute @workgroup_size(1) fn main() { x[0] = x[0] + 1u; }' }), entryPoint: 'main' },
});
const bind = device.createBindGroup({ layout: pipeline.getBindGroupLayout(0), entries: [{ binding: 0, resource: { buffer: storage } }] });

const results = [
  await measure('empty submit → onSubmittedWorkDone', async () => { device.queue.submit([]); await device.queue.onSubmittedWorkDone(); }),
  await measure('1 dispatch → onSubmittedWorkDone', async () => {
    const enc = device.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(1); pass.end();
    device.queue.submit([enc.finish()]); await device.queue.onSubmittedWorkDone();
  }),
  await measure('1 dispatch + 4-byte mapAsync', async () => {
    const enc = device.createCommandEncoder(); const pass = enc.beginComputePass();
    pass.setPipeline(pipeline); pass.setBindGroup(0, bind); pass.dispatchWorkgroups(1); pass.end();
    enc.copyBufferToBuffer(storage, 0, staging, 0, 4);
    device.queue.submit([enc.finish()]); await staging.mapAsync(GPUMapMode.READ); staging.unmap();
  }),
];
const json = opt('--json');
if (json) writeFileSync(json, JSON.stringify({ adapter: adapter.info?.description ?? '', runs, results }, null, 1));
device.destroy();
