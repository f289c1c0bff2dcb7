import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// The dev server of the benchmark (playwright.bench.config.ts starts it): the repo's
// files as they were when each was first served. Other people's edits during a long
// run must not reload a page mid-case (HMR) or change the engine between cases, so
// there is no file watcher and no HMR client; and no dependency discovery, since the
// page imports no npm package through Vite (ORT is loaded from node_modules by URL).
export default defineConfig({
  root: fileURLToPath(new URL('../..', import.meta.url)),
  logLevel: 'warn',
  server: { hmr: false, watch: null },
  optimizeDeps: { noDiscovery: true, include: [] },
});
