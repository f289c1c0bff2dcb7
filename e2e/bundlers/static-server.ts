// A plain static file server for built sample apps: what an app's host does, no
// dev-server transforms (the Vite dev server would rewrite `new Worker(new URL(…))`
// and bare imports, hiding what the bundler emitted). JavaScript is served as
// text/javascript (module scripts and module workers need a JavaScript type),
// single byte ranges are honoured, and a missing file is a 404. Under /slow/,
// files come at 640 KiB/s (a load still in progress when a test aborts it).
import { createReadStream, readFileSync, statSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { extname, join, normalize, sep } from 'node:path';

const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.mjs': 'text/javascript; charset=utf-8',
  '.json': 'application/json', '.png': 'image/png', '.jpg': 'image/jpeg',
};

/** Writes the file 64 KiB every 100 ms until done or the client goes away. */
async function trickle(file: string, res: ServerResponse): Promise<void> {
  const bytes = readFileSync(file);
  for (let at = 0; at < bytes.length && !res.destroyed; at += 64 << 10) {
    res.write(bytes.subarray(at, at + (64 << 10)));
    await new Promise((r) => setTimeout(r, 100));
  }
  res.end();
}

export interface StaticServer { url: string; close(): Promise<void> }

/** Serves `root` on 127.0.0.1 at a free port; `url` ends with '/'. */
export async function serveStatic(root: string): Promise<StaticServer> {
  const server: Server = createServer((req, res) => {
    let path = decodeURIComponent(new URL(req.url ?? '/', 'http://x').pathname);
    const slow = path.startsWith('/slow/');
    if (slow) path = path.slice('/slow'.length);
    const file = normalize(join(root, path.endsWith('/') ? `${path}index.html` : path));
    let size: number;
    try {
      if (!file.startsWith(root + sep) && file !== root) throw new Error('outside the root');
      const st = statSync(file);
      if (!st.isFile()) throw new Error('not a file');
      size = st.size;
    } catch {
      res.writeHead(404, { 'content-type': 'text/plain' }).end('not found');
      return;
    }
    const headers: Record<string, string | number> = {
      'content-type': TYPES[extname(file)] ?? 'application/octet-stream', 'accept-ranges': 'bytes', 'cache-control': 'no-store',
    };
    const range = /^bytes=(\d*)-(\d*)$/.exec(req.headers.range ?? '');
    if (range && (range[1] || range[2])) {
      const start = range[1] ? Number(range[1]) : Math.max(0, size - Number(range[2]));
      const end = range[1] && range[2] ? Math.min(Number(range[2]), size - 1) : size - 1;
      if (start > end || start >= size) {
        res.writeHead(416, { 'content-range': `bytes */${size}` }).end();
        return;
      }
      res.writeHead(206, { ...headers, 'content-range': `bytes ${start}-${end}/${size}`, 'content-length': end - start + 1 });
      if (req.method === 'HEAD') res.end();
      else createReadStream(file, { start, end }).pipe(res);
      return;
    }
    res.writeHead(200, { ...headers, 'content-length': size });
    if (req.method === 'HEAD') res.end();
    else if (slow) void trickle(file, res);
    else createReadStream(file).pipe(res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}/`,
    close: () => new Promise<void>((resolve) => { server.closeAllConnections(); server.close(() => resolve()); }),
  };
}
