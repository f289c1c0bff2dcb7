#!/usr/bin/env node
// The `vim-webgpu` command. Errors the user can cause print one line naming the
// file and the problem, and exit non-zero.
import { parseArgs } from 'node:util';
import { VimError } from '../errors.js';
import { infer } from './infer.js';

const USAGE = `usage:
  vim-webgpu infer --weights FILE (--image FILE | --input FILE.bin --size HxW) [--batch B]
                   [--stride S] [--backend webgpu|reference] [--out LOGITS.bin] [--json]
  vim-webgpu convert IN(.pth|.safetensors) --dtype int8|f16|f32 -o OUT [--json]
  vim-webgpu eval --weights FILE --images DIR [--size S] [--limit N] [--batch B] [--crop-ratio R] [--json]
                  [--save-logits OUT] [--compare-logits SAVED ...]
  vim-webgpu bench --model vim_ti|vim_s [--size 224,512] [--batch 1,8] [--scan auto,single,chunked] [--json FILE]`;

class UsageError extends VimError {
  override name = 'UsageError';
}

function parseSize(v: string | undefined): [number, number] | undefined {
  if (v === undefined) return undefined;
  const m = /^(\d+)(?:x(\d+))?$/.exec(v);
  if (!m) throw new UsageError(`--size must look like 224 or 224x320, got '${v}'`);
  return [Number(m[1]), Number(m[2] ?? m[1])];
}

function parsePositive(name: string, v: string | undefined): number | undefined {
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n) || n < 1) throw new UsageError(`--${name} must be a positive integer, got '${v}'`);
  return n;
}

async function main(argv: string[]): Promise<void> {
  const [command, ...rest] = argv;
  if (command === 'infer') {
    const { values } = parseArgs({
      args: rest, strict: true,
      options: {
        weights: { type: 'string' }, image: { type: 'string' }, input: { type: 'string' }, size: { type: 'string' },
        batch: { type: 'string' }, stride: { type: 'string' }, backend: { type: 'string', default: 'webgpu' },
        out: { type: 'string' }, json: { type: 'boolean', default: false },
      },
    });
    if (!values.weights) throw new UsageError('infer needs --weights FILE');
    if (values.backend !== 'webgpu' && values.backend !== 'reference') throw new UsageError(`--backend must be webgpu or reference, got '${values.backend}'`);
    if (values.image && values.input) throw new UsageError('give either --image or --input, not both');
    await infer({
      weights: values.weights, image: values.image, input: values.input, size: parseSize(values.size),
      batch: parsePositive('batch', values.batch), stride: parsePositive('stride', values.stride),
      backend: values.backend, out: values.out, json: values.json ?? false,
    });
  } else if (command === 'convert') {
    const { convert } = await import('./convert.js');
    await convert(rest);
  } else if (command === 'eval') {
    const { evaluate } = await import('./eval.js');
    await evaluate(rest);
  } else if (command === 'bench') {
    const { bench } = await import('./bench.js');
    await bench(rest);
  } else {
    process.stdout.write(USAGE + '\n');
    if (command !== undefined && command !== '--help' && command !== 'help') throw new UsageError(`unknown command '${command}'`);
  }
}

main(process.argv.slice(2)).then(
  () => process.exit(0),
  (e: unknown) => {
    if (e instanceof VimError || (e instanceof TypeError && 'code' in e && String((e as { code: unknown }).code).startsWith('ERR_PARSE_ARGS'))) {
      process.stderr.write(`vim-webgpu: ${(e as Error).message}\n`);
      process.exit(2);
    }
    process.stderr.write(`vim-webgpu: internal error: ${(e as Error)?.stack ?? String(e)}\n`);
    process.exit(1);
  },
);
