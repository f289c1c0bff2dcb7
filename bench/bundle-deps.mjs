// Copies the npm packages a built dist/ needs at run time into DEST/node_modules:
// the bare imports found in dist/*.js and, recursively, their `dependencies`.
// `webgpu` is left out: the bundle carries only its loader and dawn.node (see
// scripts/bench-bundle.sh). Source maps, type declarations and docs are skipped.
// A dependency installed nested (pkg/node_modules/dep) travels inside its parent.
//
//   node bench/bundle-deps.mjs DIST_DIR NODE_MODULES_DIR DEST
import { cpSync, existsSync, readdirSync, readFileSync } from 'node:fs';
import { builtinModules } from 'node:module';
import { join } from 'node:path';

const [dist, nodeModules, dest] = process.argv.slice(2);
if (!dest) {
  console.error('usage: node bench/bundle-deps.mjs DIST_DIR NODE_MODULES_DIR DEST');
  process.exit(2);
}

// `import x from "pkg"`, `export ... from "pkg"`, `import("pkg")`, `import "pkg"`.
const spec = /(?:\bfrom\s*|\bimport\s*\(\s*|\bimport\s+)(["'])([^"'./][^"']*)\1/g;
const pkgName = (s) => (s.startsWith('@') ? s.split('/').slice(0, 2).join('/') : s.split('/')[0]);
const isBuiltin = (s) => s.startsWith('node:') || builtinModules.includes(pkgName(s));

const wanted = new Set();
for (const f of readdirSync(dist)) {
  if (!f.endsWith('.js')) continue;
  for (const m of readFileSync(join(dist, f), 'utf8').matchAll(spec)) {
    if (!isBuiltin(m[2]) && pkgName(m[2]) !== 'webgpu') wanted.add(pkgName(m[2]));
  }
}

const copied = [];
const queue = [...wanted];
while (queue.length) {
  const name = queue.shift();
  if (copied.includes(name)) continue;
  const src = join(nodeModules, name);
  if (!existsSync(join(src, 'package.json'))) throw new Error(`runtime dependency '${name}' is not in ${nodeModules}`);
  const pkg = JSON.parse(readFileSync(join(src, 'package.json'), 'utf8'));
  cpSync(src, join(dest, 'node_modules', name), {
    recursive: true,
    filter: (p) => !/\.(map|d\.[cm]?ts)$/.test(p) && !/[/\\](?!LICEN[CS]E)[^/\\]*\.md$/.test(p) && !/[/\\]\.github$/.test(p),
  });
  copied.push(name);
  queue.push(...Object.keys(pkg.dependencies ?? {}).filter((d) => !existsSync(join(src, 'node_modules', d))));
}
console.log(copied.sort().join(' ') || '(none)');
