import { defineConfig } from '@playwright/test';

// Browser tests (e2e/*.spec.ts) in the system Chromium: Playwright cannot download
// its own browser here, and headless Chromium only exposes WebGPU (on SwiftShader
// when there is no GPU) with these flags, on pages served over http://127.0.0.1.
// E2E_PORT: another port when 5173 is taken (outside CI an existing server on the
// port is reused, which could be another checkout's).
const port = Number(process.env.E2E_PORT ?? 5173);

export default defineConfig({
  testDir: 'e2e',
  // One software GPU on a 2-core machine: parallel pages only slow each other down.
  workers: 1,
  fullyParallel: false,
  forbidOnly: Boolean(process.env.CI),
  // SwiftShader runs shaders on the CPU: model runs take seconds to minutes.
  timeout: 300_000,
  expect: { timeout: 30_000 },
  // Artifacts (traces, screenshots) in a subfolder: Playwright empties outputDir at
  // start, and test-results/ also holds vitest.json.
  outputDir: 'test-results/playwright-artifacts',
  reporter: [['list'], ['json', { outputFile: 'test-results/playwright.json' }]],
  use: {
    baseURL: `http://127.0.0.1:${port}`,
    browserName: 'chromium',
    launchOptions: {
      executablePath: '/usr/bin/chromium',
      // developer features: un-rounded timestamps and a filled adapter.info.
      // SwiftShader compiles Dawn's zero-initialisation of workgroup memory (the Vulkan
      // extension path) into straight-line code: tens of seconds per scan pipeline.
      // Without the extension Dawn zero-fills in a shader loop: same semantics, fast compile.
      args: ['--enable-unsafe-webgpu', '--enable-webgpu-developer-features',
        '--disable-dawn-features=use_vulkan_zero_initialize_workgroup_memory_extension'],
    },
    trace: 'retain-on-failure',
  },
  webServer: {
    // The Vite dev server rooted at the repo (see vite.config.ts): the harness page
    // is /e2e/harness/, the demo /demo/.
    command: `npx vite --host 127.0.0.1 --port ${port} --strictPort`,
    url: `http://127.0.0.1:${port}/e2e/harness/`,
    reuseExistingServer: !process.env.CI,
    timeout: 120_000,
  },
});
