// Runs a TypeScript tool (the fuzzer, the soak) under plain Node: bundles the
// given entries with Vite (SSR mode, so node_modules stay external) into
// node_modules/.cache/vim-tools/, then imports the first entry in this process
// (so flags such as --expose-gc apply). Every entry is built, so a tool can
// fork the others: VIM_TOOLS_OUT names the folder, entries keep their base name.
//
//   node tools/fuzz/run-ts.mjs tools/fuzz/main.ts tools/fuzz/batch-main.ts -- --seed 3
import { rmSync } from 'node:fs';
import { basename, join, resolve } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { build } from 'vite';

const root = resolve(fileURLToPath(new URL('../..', import.meta.url)));
const split = process.argv.indexOf('--');
const entries = process.argv.slice(2, split < 0 ? undefined : split);
const args = split < 0 ? [] : process.argv.slice(split + 1);
if (!entries.length) {
  console.error('usage: node tools/fuzz/run-ts.mjs <entry.ts> [more entries] -- [arguments]');
  process.exit(2);
}
// One folder per run, so a CI run never rebuilds under a long run's children; removed on exit.
const outDir = join(root, 'node_modules', '.cache', 'vim-tools', `${basename(entries[0], '.ts')}-${process.pid}`);
process.on('exit', () => rmSync(outDir, { recursive: true, force: true }));
await build({
  configFile: false,
  root,
  logLevel: 'warn',
  build: {
    ssr: true,
    outDir,
    emptyOutDir: true,
    target: 'node20',
    minify: false,
    rollupOptions: {
      input: Object.fromEntries(entries.map((e) => [basename(e, '.ts'), resolve(root, e)])),
      output: { format: 'es', entryFileNames: '[name].mjs', chunkFileNames: '[name]-[hash].mjs' },
    },
  },
});
process.env.VIM_REPO_ROOT = root;
process.env.VIM_TOOLS_OUT = outDir;
process.argv = [process.argv[0], join(outDir, `${basename(entries[0], '.ts')}.mjs`), ...args];
await import(pathToFileURL(process.argv[1]).href);
