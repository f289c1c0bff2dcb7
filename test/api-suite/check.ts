// The few assertions the API suite needs, with no test runner behind them: the
// same cases run under vitest in Node and inside a Chromium page (Playwright).
// Each throws an Error saying what differed.

export function check(ok: boolean, what: string): void {
  if (!ok) throw new Error(`check failed: ${what}`);
}

export function same(actual: unknown, expected: unknown, what: string): void {
  const a = JSON.stringify(actual), e = JSON.stringify(expected);
  if (a !== e) throw new Error(`${what}: got ${a.slice(0, 300)}, expected ${e.slice(0, 300)}`);
}

/** Every |a[i] − e[i]| ≤ atol + rtol·|e[i]| (test/fixtures.ts's compare). */
export function close(actual: ArrayLike<number>, expected: ArrayLike<number>, what: string, atol: number, rtol = 0): void {
  if (actual.length !== expected.length) throw new Error(`${what}: ${actual.length} values, expected ${expected.length}`);
  for (let i = 0; i < actual.length; i++) {
    const d = Math.abs(actual[i] - expected[i]);
    if (!(d <= atol + rtol * Math.abs(expected[i]))) throw new Error(`${what}: |Δ| ${d} at ${i} exceeds ${atol} + ${rtol}·|${expected[i]}|`);
  }
}

export function cosine(a: ArrayLike<number>, b: ArrayLike<number>): number {
  let ab = 0, aa = 0, bb = 0;
  for (let i = 0; i < a.length; i++) { ab += a[i] * b[i]; aa += a[i] ** 2; bb += b[i] ** 2; }
  return ab / Math.sqrt(aa * bb);
}

/** Expects `p` to reject with an instance of `cls`; returns the error. */
export async function rejects<E extends Error>(p: Promise<unknown>, cls: new (...args: never[]) => E, what: string): Promise<E> {
  let value: unknown;
  try {
    value = await p;
  } catch (e) {
    if (e instanceof cls) return e;
    throw new Error(`${what}: expected ${cls.name}, got ${(e as Error)?.constructor?.name} ${(e as Error)?.name}: ${(e as Error)?.message}`);
  }
  throw new Error(`${what}: expected ${cls.name}, but it resolved (${JSON.stringify(value)?.slice(0, 100)})`);
}
