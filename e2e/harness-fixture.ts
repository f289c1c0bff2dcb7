// A Playwright fixture that opens the harness page (e2e/harness/) and calls its
// functions by name, typed from the harness itself:
//   test('...', async ({ harness }) => { expect(await harness.run('smoke')).toEqual([2, 4, 6]); });
// Browser console output (all but debug messages) goes to the test output, and an uncaught
// error in the page fails the test.
import { test as base, expect, type Page } from '@playwright/test';
import type { Harness } from './harness/main.js';

type Fn = (...args: never[]) => unknown;

export interface HarnessPage {
  page: Page;
  run<K extends keyof Harness>(name: K, ...args: Parameters<Harness[K]>): Promise<Awaited<ReturnType<Harness[K]>>>;
}

export const test = base.extend<{ harness: HarnessPage }>({
  harness: async ({ page }, use) => {
    const pageErrors: Error[] = [];
    page.on('pageerror', (e) => pageErrors.push(e));
    page.on('console', (m) => {
      if (m.type() !== 'debug') console.log(`[browser ${m.type()}] ${m.text()}`); // debug: Vite's HMR chatter
    });
    await page.goto('/e2e/harness/');
    await page.waitForFunction(() => window.harness !== undefined);
    await use({
      page,
      run: (name, ...args) =>
        page.evaluate(
          ([n, a]) => (window.harness[n] as unknown as Fn)(...(a as never[])),
          [name, args] as const,
        ) as never,
    });
    expect(pageErrors, 'uncaught errors in the harness page').toEqual([]);
  },
});

export { expect };
