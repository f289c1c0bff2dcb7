import { defineConfig } from 'vite';

// One config, two jobs: `vite build --mode lib` builds the npm package and the
// `vim-webgpu` CLI into dist/; otherwise Vite serves/builds the demo in demo/.
export default defineConfig(({ mode }) => {
  if (mode === 'lib') {
    return {
      build: {
        outDir: 'dist',
        emptyOutDir: true,
        target: 'es2022',
        minify: false,
        sourcemap: true,
        ssr: true,
        lib: {
          entry: { index: 'src/index.ts', cli: 'src/cli/main.ts' },
          formats: ['es'],
        },
        rollupOptions: {
          external: [/^node:/, 'webgpu', 'comlink', 'gl-matrix', 'fast-png', 'jpeg-js'],
        },
      },
    };
  }
  return {
    root: 'demo',
    server: { host: '127.0.0.1', port: 5173, strictPort: true },
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
