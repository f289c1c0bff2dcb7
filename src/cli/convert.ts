// `vim-webgpu convert IN --dtype int8|f16|f32 -o OUT`: any checkpoint this engine
// reads → a vim-webgpu file (weights/FORMAT.md). Prints what was written and the
// file's sha256 (what a page passes as the expected hash of the download).
import { open, rename, unlink } from 'node:fs/promises';
import { basename } from 'node:path';
import { parseArgs } from 'node:util';
import { VimError } from '../errors.js';
import { parameterCount } from '../model/config.js';
import { convertWeights } from '../weights/convert.js';
import { fileSource } from '../weights/node-source.js';

import { Sha256 } from '../weights/sha256.js';
import { WEIGHT_DTYPES, type WeightDType } from '../weights/weight-dtype.js';

export async function convert(argv: string[]): Promise<void> {
  const { values, positionals } = parseArgs({
    args: argv, strict: true, allowPositionals: true,
    options: { dtype: { type: 'string', default: 'int8' }, out: { type: 'string', short: 'o' }, json: { type: 'boolean', default: false } },
  });
  if (positionals.length !== 1) throw new VimError('convert needs exactly one input file: vim-webgpu convert IN --dtype int8|f16|f32 -o OUT');
  if (!values.out) throw new VimError('convert needs -o OUT');
  const dtype = values.dtype as WeightDType;
  if (!WEIGHT_DTYPES.includes(dtype)) throw new VimError(`--dtype must be one of ${WEIGHT_DTYPES.join(', ')}, got '${values.dtype}'`);
  const input = positionals[0];
  const src = await fileSource(input);
  let file;
  try {
    file = await convertWeights(src, { dtype });
  } finally {
    await src.close();
  }
  // Write beside the target and rename, so an interrupted run never leaves a half file under OUT.
  const tmp = `${values.out}.partial`;
  const hash = new Sha256();
  const out = await open(tmp, 'w');
  try {
    for (const part of [file.header, ...file.parts]) {
      hash.update(part);
      await out.write(part);
    }
    await out.close();
    await rename(tmp, values.out);
  } catch (e) {
    await out.close().catch(() => undefined);
    await unlink(tmp).catch(() => undefined);
    throw new VimError(`cannot write ${values.out}: ${(e as Error).message}`);
  }
  const report = {
    input: basename(input), output: values.out, dtype, bytes: file.byteLength, inputBytes: src.size,
    parameters: parameterCount(file.config), config: file.config, sha256: hash.hex(),
  };
  if (values.json) process.stdout.write(JSON.stringify(report, null, 2) + '\n');
  else {
    process.stdout.write(`${report.input} → ${report.output}: ${dtype}, ${(report.bytes / 1e6).toFixed(2)} MB ` +
      `(input ${(report.inputBytes / 1e6).toFixed(2)} MB), ${report.parameters.toLocaleString('en-US')} parameters\n` +
      `sha256 ${report.sha256}\n`);
  }
}
