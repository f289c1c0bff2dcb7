import { defineConfig, type Plugin } from 'vite';
import { throttledFiles } from './e2e/harness/worker-throttle-plugin';

// One config, three jobs:
// - `vite build --mode lib` builds the npm package and the `vim-webgpu` CLI into dist/;
// - `vite` (dev server) serves the whole repo: the demo at /demo/ and the Playwright
//   harness at /e2e/harness/, so browser tests can load either page from one server;
// - `vite build` builds the demo alone (root demo/) into dist-demo/.
// The `test` block configures vitest (the Node test suites).

// `npm run demo` opens http://127.0.0.1:5173/: send that to the demo page.
const rootToDemo: Plugin = {
  name: 'root-to-demo',
  configureServer(server) {
    server.middlewares.use((req, res, next) => {
      if (req.url !== '/') return next();
      res.statusCode = 302;
      res.setHeader('Location', '/demo/');
      res.end();
    });
  },
};

// In the npm package the worker is its own entry (dist/worker.js, next to the
// chunk holding the client): the client's dev-time URL to worker.ts points
// there instead. An app's bundler then bundles that worker as it does its own.
const workerEntryInLib: Plugin = {
  name: 'worker-entry-in-lib',
  transform(code, id) {
    if (!id.replace(/\\/g, '/').endsWith('/src/worker/client.ts')) return undefined;
    const patched = code.replace(/new URL\((['"])\.\/worker\.ts\1, import\.meta\.url\)/, "new URL('./worker.js', import.meta.url)");
    if (patched === code) this.error('src/worker/client.ts no longer starts its worker with new URL(\'./worker.ts\', import.meta.url)');
    return { code: patched, map: null };
  },
};

export default defineConfig(({ command, mode }) => {
  if (mode === 'lib') {
    return {
      plugins: [workerEntryInLib],
      build: {
        outDir: 'dist',
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        sourcemap: true,
        ssr: true,
        lib: {
          entry: { index: 'src/index.ts', cli: 'src/cli/main.ts', worker: 'src/worker/worker.ts' },
          formats: ['es'],
        },
        rollupOptions: {
          external: [/^node:/, 'webgpu', 'comlink', 'gl-matrix', 'fast-png', 'jpeg-js'],
        },
      },
    };
  }
  const serving = command === 'serve';
  return {
    root: serving ? '.' : 'demo',
    // The built demo uses relative URLs only, so dist-demo/ works from any folder
    // of any static host (GitHub Pages project sites, a subdirectory, file servers).
    base: serving ? '/' : './',
    // throttledFiles: /throttled/<path> serves files slowly for the worker e2e tests (dev server only).
    plugins: [rootToDemo, throttledFiles()],
    server: {
      host: '127.0.0.1',
      port: 5173,
      strictPort: true,
      // Test outputs change during a Playwright run; they are no part of the pages.
      watch: { ignored: ['**/test-results/**', '**/playwright-report/**', '**/dist/**', '**/dist-demo/**'] },
    },
    // With root '.', only these pages are entries for dependency pre-bundling
    // (not every .html file in the repo, such as an old Playwright report).
    optimizeDeps: { entries: ['demo/index.html', 'e2e/harness/index.html'] },
    worker: { format: 'es' },
    build: { outDir: '../dist-demo', emptyOutDir: true, target: 'es2022' },
    test: {
      root: '.',
      include: ['test/**/*.test.ts', 'src/**/*.test.ts'],
      pool: 'forks',
      testTimeout: 600_000,
      hookTimeout: 600_000,
    },
  };
});
