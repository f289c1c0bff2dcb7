// Child-process entry of `npm run fuzz`: one batch of one reader. The
// allocation guard goes in before any reader (or its libraries) is loaded.
import { installAllocationGuard } from './alloc-guard.js';

installAllocationGuard();
const { runBatch } = await import('./batch.js');

const arg = (name: string, fallback?: string) => {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 ? process.argv[i + 1] : fallback;
};
const send = (m: unknown) => new Promise<void>((resolve) => (process.send ? process.send(m, undefined, {}, () => resolve()) : resolve()));

await runBatch({
  reader: arg('reader')!, seed: Number(arg('seed', '1')), start: Number(arg('start', '0')), count: Number(arg('count', '100')),
  bugDir: arg('bug-dir'),
  // Progress reaches the parent before each case runs, so it knows which case a crash or hang hit.
  onCase: (index) => send({ type: 'case', index }),
  onResult: (result) => send({ type: 'result', result }),
});
await send({ type: 'done' });
process.disconnect?.();
