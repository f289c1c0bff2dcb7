// The WebGPU engine in real Chromium (SwiftShader here) against the official
// fixtures: logits within atol = rtol = 1e-4 (tiny) / 1e-3 (24-layer), identical
// top-5, features at the class token.
import { readFileSync } from 'node:fs';
import { expect, test } from './harness-fixture.js';

const fixture = (name: string) => {
  const b = readFileSync(new URL(`../test/fixtures/vim/${name}`, import.meta.url));
  return Array.from(new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength)));
};

function maxAbsDiff(a: number[], b: number[], tol: number): { max: number; ok: boolean } {
  expect(a.length).toBe(b.length);
  let max = 0, ok = true;
  a.forEach((v, i) => {
    const d = Math.abs(v - b[i]);
    max = Math.max(max, d);
    if (!(d <= tol + tol * Math.abs(b[i]))) ok = false;
  });
  return { max, ok };
}

const top5 = (v: number[]) => v.map((x, i) => [x, i]).sort((p, q) => q[0] - p[0] || p[1] - q[1]).slice(0, 5).map((p) => p[1]);

for (const [name, tol] of [['tiny', 1e-4], ['vim_ti_224', 1e-3]] as const) {
  test(`${name}: WebGPU logits and features match the official model`, async ({ harness }, info) => {
    test.setTimeout(600_000);
    const r = await harness.run('modelFixture', name);
    const logits = maxAbsDiff(r.logits, fixture(`${name}_logits.bin`), tol);
    const features = maxAbsDiff(r.features, fixture(`${name}_features.bin`), tol);
    await info.attach(`${name}.json`, { body: JSON.stringify({ adapter: r.adapter, ms: r.ms, maxAbsLogit: logits.max, maxAbsFeature: features.max }), contentType: 'application/json' });
    console.log(`${name} in Chromium (${r.adapter}): max |Δlogit| ${logits.max.toExponential(2)}, features ${features.max.toExponential(2)}, ${r.ms.toFixed(0)} ms`);
    expect(logits.ok, `max |Δlogit| ${logits.max}`).toBe(true);
    expect(features.ok, `max |Δfeature| ${features.max}`).toBe(true);
    expect(top5(r.logits)).toEqual(top5(fixture(`${name}_logits.bin`)));
  });
}
