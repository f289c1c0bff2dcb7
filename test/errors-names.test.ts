// Every public error class carries its own name as a literal (not the class's
// function name, which minifiers rename), keeps its fields and class across the
// worker's wire format, and the package exports exactly the classes listed in
// e2e/bundlers/error-samples.js (which the minified-bundle e2e uses), each with
// a row in the README's error table. Fast: no GPU.
import { expect, test } from 'vitest';
import { readFileSync } from 'node:fs';
import * as pkg from '../src/index.js';
import { fromWire, toWire } from '../src/worker/wire-errors.js';
import { ERROR_CLASSES, describeError, describeSamples, renamedClasses, sampleErrors } from '../e2e/bundlers/error-samples.js';
import { ROOT } from './package-support.js';

const E = pkg as unknown as Record<string, unknown>;

/** Each class's parent, where it is not VimError. */
const PARENT: Record<string, string> = {
  UnsafePickleError: 'WeightFormatError', UnsupportedDtypeError: 'WeightFormatError', IntegrityError: 'WeightFormatError',
};

test('the package exports exactly the listed error classes, each extending VimError', () => {
  const exported = Object.entries(E)
    .filter(([, v]) => typeof v === 'function' && (v === pkg.VimError || (v as { prototype: unknown }).prototype instanceof pkg.VimError))
    .map(([k]) => k);
  expect(exported.sort()).toEqual([...ERROR_CLASSES].sort());
});

test('each class names itself with a literal, the same as its export name', () => {
  const samples = describeSamples(E);
  for (const c of ERROR_CLASSES) {
    const d = samples[c];
    expect(d.name, c).toBe(c);
    expect(d.string.startsWith(`${c}: `), d.string).toBe(true);
    expect(d.instanceOf, c).toEqual(['Error', 'VimError', ...(PARENT[c] ? [PARENT[c]] : []), ...(c === 'VimError' ? [] : [c])]);
    expect(sampleErrors(E)[c].stack?.split('\n')[0], c).toBe(d.string);
  }
  // Unminified sources: class function names are intact (the minified e2e expects them all renamed).
  expect(renamedClasses(E)).toEqual([]);
});

test('no error class takes its name from new.target or constructor.name', () => {
  for (const file of ['src/errors.ts', 'src/api/errors.ts']) {
    const src = readFileSync(`${ROOT}/${file}`, 'utf8').replace(/\/\*[\s\S]*?\*\//g, '').replace(/\/\/.*$/gm, '');
    expect(src, file).not.toMatch(/new\.target\.name|constructor\.name/);
    for (const [, cls] of src.matchAll(/export class (\w+) extends/g)) expect(src, `${file}: ${cls}`).toContain(`override name = '${cls}';`);
  }
});

test("the README's error table has a row for every class", () => {
  const readme = readFileSync(`${ROOT}/README.md`, 'utf8');
  for (const c of ERROR_CLASSES.filter((n) => n !== 'VimError')) expect(readme, c).toMatch(new RegExp(`^\\| \`${c}\` \\| `, 'm'));
});

test('the wire format rebuilds every class with its name, message and fields', () => {
  for (const [c, e] of Object.entries(sampleErrors(E))) {
    const back = fromWire(structuredClone(toWire(e as pkg.VimError)));
    expect(describeError(E, back), c).toEqual(describeError(E, e));
    expect(back.stack, c).toBe(e.stack);
  }
});
