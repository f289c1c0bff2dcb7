// WebGPU in real Chromium (SwiftShader when there is no GPU): the engine's GPU
// runtime acquires a device, compiles a shader and runs it.
import { expect, test } from './harness-fixture.js';

test('smoke kernel doubles [1, 2, 3]', async ({ harness }) => {
  expect(await harness.run('smoke')).toEqual([2, 4, 6]);
});

test('adapter offers subgroups and timestamp-query', async ({ harness }, testInfo) => {
  const report = await harness.run('adapterInfo');
  await testInfo.attach('adapter.json', { body: JSON.stringify(report, null, 2), contentType: 'application/json' });
  expect(report.features).toEqual(expect.arrayContaining(['subgroups', 'timestamp-query']));
});
