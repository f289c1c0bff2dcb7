// Where the repository is: the launcher (run-ts.mjs) says so, since bundled code
// no longer sits next to the sources; under vitest the working directory is it.
import { join } from 'node:path';
import { readFileSync } from 'node:fs';

export const REPO_ROOT = process.env.VIM_REPO_ROOT ?? process.cwd();

export function repoPath(...parts: string[]): string {
  return join(REPO_ROOT, ...parts);
}

export function readRepoFile(...parts: string[]): Uint8Array {
  return Uint8Array.from(readFileSync(repoPath(...parts)));
}
