// A Vite dev-server middleware for the worker e2e tests (imported by
// vite.config.ts; runs in Node, not in the page): serves repository files under
// /throttled/<path> slowly, so a page sees a download arrive in many pieces, and
// counts what it served, so a test can tell a cache hit (no request) from a fetch.
//   /throttled/<path>?rate=<bytes/s>&chunk=<bytes>   the file, paced (rate 0: unpaced)
//     &corrupt=<offset>                              with the byte at offset flipped
//   Range: bytes=a-b                                 answered with 206 (Accept-Ranges: bytes)
//   /throttled-stats  → {<path>: {requests, bytesSent}};  /throttled-stats?reset=1 clears them.
// Only files below weights/, test/fixtures/ and test-results/ are served.
import { readFile } from 'node:fs/promises';
import { resolve, sep } from 'node:path';
import type { Plugin } from 'vite';

const ALLOWED = ['weights', 'test/fixtures', 'test-results'];

export function throttledFiles(): Plugin {
  const stats: Record<string, { requests: number; bytesSent: number }> = {};
  return {
    name: 'vim-webgpu-throttled-files',
    configureServer(server) {
      const root = server.config.root;
      server.middlewares.use(async (req, res, next) => {
        const url = new URL(req.url ?? '/', 'http://x');
        if (url.pathname === '/throttled-stats') {
          if (url.searchParams.has('reset')) for (const k of Object.keys(stats)) delete stats[k];
          res.setHeader('content-type', 'application/json');
          res.setHeader('cache-control', 'no-store');
          res.end(JSON.stringify(stats));
          return;
        }
        if (!url.pathname.startsWith('/throttled/')) return next();
        const rel = decodeURIComponent(url.pathname.slice('/throttled/'.length));
        const path = resolve(root, rel);
        if (!ALLOWED.some((dir) => path.startsWith(resolve(root, dir) + sep))) {
          res.statusCode = 403;
          res.end('forbidden');
          return;
        }
        let bytes: Buffer;
        try {
          bytes = await readFile(path);
        } catch {
          res.statusCode = 404;
          res.end('not found');
          return;
        }
        const corrupt = url.searchParams.get('corrupt');
        if (corrupt !== null) { bytes = Buffer.from(bytes); bytes[Number(corrupt)] ^= 0x55; }
        const s = (stats[rel] ??= { requests: 0, bytesSent: 0 });
        s.requests++;
        let body = bytes;
        res.setHeader('accept-ranges', 'bytes');
        res.setHeader('cache-control', 'no-store');
        res.setHeader('content-type', 'application/octet-stream');
        const range = /^bytes=(\d+)-(\d+)$/.exec(req.headers.range ?? '');
        if (range) {
          body = bytes.subarray(Number(range[1]), Number(range[2]) + 1);
          res.statusCode = 206;
          res.setHeader('content-range', `bytes ${range[1]}-${Number(range[1]) + body.length - 1}/${bytes.length}`);
        }
        res.setHeader('content-length', String(body.length));
        const rate = Number(url.searchParams.get('rate') ?? 0);
        const chunk = Math.max(1, Number(url.searchParams.get('chunk') ?? 4096));
        let at = 0, closed = false;
        res.on('close', () => { closed = true; });
        const send = () => {
          if (closed) return;
          if (at >= body.length) { res.end(); return; }
          const piece = body.subarray(at, at + (rate > 0 ? chunk : body.length));
          at += piece.length;
          s.bytesSent += piece.length;
          res.write(piece);
          if (rate > 0) setTimeout(send, (1000 * piece.length) / rate); else send();
        };
        send();
      });
    },
  };
}
