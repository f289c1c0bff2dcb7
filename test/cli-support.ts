// Running the built `vim-webgpu` command (dist/cli.js) from the CLI tests.
import { spawnSync, execSync } from 'node:child_process';
import { existsSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { expect } from 'vitest';

const ROOT = join(__dirname, '..');
const CLI = join(ROOT, 'dist', 'cli.js');

/** Builds dist/ when a bare checkout has none (the test command builds it first anyway). */
export function ensureCliBuilt(): void {
  if (!existsSync(CLI)) execSync('npx vite build --mode lib', { cwd: ROOT, stdio: 'ignore' });
}

export function cli(args: string[]): { code: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, [CLI, ...args], { encoding: 'utf8', env: process.env });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr };
}

export function readF32(path: string): Float32Array {
  const b = readFileSync(path);
  return new Float32Array(b.buffer.slice(b.byteOffset, b.byteOffset + b.byteLength));
}

/** Bad input: exit status 2 and exactly one line on stderr that matches `pattern`. */
export function expectCliError(args: string[], pattern: RegExp): void {
  const r = cli(args);
  expect(r.code).toBe(2);
  expect(r.stderr.trim().split('\n')).toHaveLength(1);
  expect(r.stderr).toMatch(pattern);
}
