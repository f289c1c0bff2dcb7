import { fileURLToPath } from 'node:url';
import { defineConfig } from 'vite';

// Builds the Node runner (run.ts, with the engine and the WGSL it imports as ?raw)
// into one file, e2e/bench/.build/run.mjs, that runs with a plain `node` and the
// `webgpu` package: on a GPU machine with no TypeScript tooling and no network.
export default defineConfig({
  root: fileURLToPath(new URL('../../..', import.meta.url)),
  logLevel: 'warn',
  build: {
    outDir: 'e2e/bench/.build',
    emptyOutDir: false,
    ssr: 'e2e/bench/node/run.ts',
    target: 'node20',
    minify: false,
    sourcemap: false,
    rollupOptions: {
      external: [/^node:/, 'webgpu'],
      output: { entryFileNames: 'run.mjs', format: 'es' },
    },
  },
});
