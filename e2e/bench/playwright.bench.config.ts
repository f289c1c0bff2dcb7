import { defineConfig } from '@playwright/test';

// The browser benchmark (npm run bench:browser): not part of `npm test`. Its driver is
// driver.bench.ts, a name the main config's default test pattern does not match.
// Its own dev server port (BENCH_PORT, default 5183), never reused: a server left by
// another checkout or test run could serve other files or stop mid-run.
const port = Number(process.env.BENCH_PORT ?? 5183);

export default defineConfig({
  testDir: '.',
  // h200-report.bench.ts renders a GPU machine's results (see that file) when asked by name.
  testMatch: ['driver.bench.ts', 'h200-report.bench.ts'],
  workers: 1,
  // The driver sets its own timeout from the run's time budget.
  timeout: 0,
  outputDir: '../../test-results/bench-artifacts',
  reporter: [['list']],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: process.env.BENCH_CHROMIUM ?? '/usr/bin/chromium',
      // developer features: adapter.info filled in. Dawn's timestamp rounding is
      // irrelevant here (wall-clock timing).
      args: ['--enable-unsafe-webgpu', '--enable-webgpu-developer-features'],
    },
  },
  webServer: {
    command: `npx vite --config e2e/bench/vite.bench.config.ts --host 127.0.0.1 --port ${port} --strictPort`,
    cwd: '../..',
    url: `http://127.0.0.1:${port}/e2e/bench/`,
    reuseExistingServer: false,
    timeout: 120_000,
  },
});
