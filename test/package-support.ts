// Packing the library as npm would publish it, away from the repository's own
// dist/ (other suites run dist/cli.js while this builds), and installing the
// tarball into a fresh project. Used by test/package.test.ts (Node + Dawn),
// e2e/package.spec.ts (a Vite app in Chromium) and e2e/bundlers.spec.ts (webpack
// and esbuild apps in Chromium).
import { execFileSync } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..');

/** Runs a command; on failure the error carries its output. */
export function sh(cmd: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = process.env): string {
  try {
    return execFileSync(cmd, args, { cwd, env, encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'], maxBuffer: 64 << 20 });
  } catch (e) {
    const x = e as { stdout?: string; stderr?: string; message: string };
    throw new Error(`${cmd} ${args.join(' ')} (in ${cwd}) failed: ${x.message}\n${x.stdout ?? ''}\n${x.stderr ?? ''}`);
  }
}

export function tempDir(prefix: string): string {
  return mkdtempSync(join(tmpdir(), `vim-webgpu-${prefix}-`));
}

/**
 * `npm pack` of a copy of the working tree (sources and build config, the
 * repository's node_modules linked in): prepack builds dist/ there. Returns the
 * tarball's path.
 */
export function packTarball(work: string): string {
  const stage = join(work, 'stage');
  mkdirSync(stage, { recursive: true });
  for (const f of ['package.json', 'README.md', 'tsconfig.json', 'tsconfig.build.json', 'vite.config.ts', 'src', 'shaders', 'weights', 'e2e']) {
    if (existsSync(join(ROOT, f))) cpSync(join(ROOT, f), join(stage, f), { recursive: true });
  }
  symlinkSync(join(ROOT, 'node_modules'), join(stage, 'node_modules'), 'dir');
  sh('npm', ['pack', '--silent', '--pack-destination', work], stage);
  const tgz = readdirSync(work).find((f) => f.endsWith('.tgz'));
  if (!tgz) throw new Error(`npm pack wrote no tarball into ${work}`);
  return join(work, tgz);
}

let shared: string | undefined;

/**
 * One `npm pack` per test process, for the specs that install the tarball
 * (e2e/package.spec.ts, e2e/bundlers.spec.ts run in one Playwright worker):
 * packed on first use into a temporary folder removed when the process exits.
 */
export function sharedTarball(): string {
  if (shared && existsSync(shared)) return shared;
  const dir = tempDir('tarball');
  process.once('exit', () => rmSync(dir, { recursive: true, force: true }));
  shared = packTarball(dir);
  return shared;
}

/**
 * The package's runtime dependencies as this repository installed them (folders
 * under node_modules, at the versions package-lock.json pins): installed beside
 * the tarball, npm links them instead of asking the registry, so that a consumer
 * project installs offline after `npm ci`.
 */
export function installedDependencies(): string[] {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { dependencies?: Record<string, string> };
  return Object.keys(pkg.dependencies ?? {}).map((name) => join(ROOT, 'node_modules', name));
}

/** A bare ESM project with the given packages installed (tarballs, folders or registry names). */
export function consumerProject(dir: string, packages: string[], extra: Record<string, unknown> = {}): void {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer', private: true, type: 'module', ...extra }, null, 2));
  sh('npm', ['install', '--no-audit', '--no-fund', '--prefer-offline', '--loglevel=error', ...packages], dir);
}
