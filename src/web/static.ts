import { createReadStream } from 'node:fs';
import fs from 'node:fs/promises';
import path from 'node:path';
import type { Middleware } from 'koa';

/**
 * Serves the three built web surfaces (web/, built by Vite into `WEB_DIST_DIR`):
 *   /console/...            operations console (one page app; its router handles the rest)
 *   /sidebar/...            the WeCom chat-toolbar sidebar
 *   /card/:memberId, /p/:id the public business card and product pages
 * Hashed assets under /assets/ are cached for a year; the HTML entry points are never cached so a
 * deployment takes effect at the next load. A missing build answers 503 with what to run.
 */
const TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.mjs': 'text/javascript; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.jpg': 'image/jpeg',
  '.jpeg': 'image/jpeg',
  '.webp': 'image/webp',
  '.ico': 'image/x-icon',
  '.woff': 'font/woff',
  '.woff2': 'font/woff2',
  '.ttf': 'font/ttf',
  '.txt': 'text/plain; charset=utf-8',
  '.map': 'application/json; charset=utf-8',
};

/** Which entry page answers a path, or undefined when the path is not a page. */
export function entryFor(urlPath: string): string | undefined {
  if (urlPath === '/console' || urlPath.startsWith('/console/')) return 'console/index.html';
  if (urlPath === '/sidebar' || urlPath.startsWith('/sidebar/')) return 'sidebar/index.html';
  if (/^\/card\/[^/]+\/?$/.test(urlPath) || /^\/p\/[^/]+\/?$/.test(urlPath)) return 'card/index.html';
  return undefined;
}

const MISSING_BUILD = `<!doctype html><html lang="zh-CN"><meta charset="utf-8"><title>页面尚未构建</title>
<body style="font-family:sans-serif;padding:2em"><h1>页面尚未构建</h1>
<p>请在项目目录运行 <code>npm run build:web</code>（<code>npm start</code> 会自动构建），然后刷新本页。</p></body></html>`;

export function serveWeb(options: { distDir: string }): Middleware {
  const root = path.resolve(options.distDir);
  return async (ctx, next) => {
    if (ctx.method !== 'GET' && ctx.method !== 'HEAD') return next();
    if (ctx.path === '/') {
      ctx.redirect('/console/');
      return;
    }
    let file: string;
    let immutable = false;
    const entry = entryFor(ctx.path);
    if (entry) {
      file = path.join(root, entry);
    } else if (ctx.path.startsWith('/assets/') || ctx.path === '/favicon.svg') {
      file = path.resolve(root, `.${decodeURIComponent(ctx.path)}`);
      if (!file.startsWith(root + path.sep)) return next();
      immutable = ctx.path.startsWith('/assets/');
    } else {
      return next();
    }
    const stat = await fs.stat(file).catch(() => undefined);
    if (!stat?.isFile()) {
      if (!entry) return next();
      ctx.status = 503;
      ctx.type = 'text/html; charset=utf-8';
      ctx.body = MISSING_BUILD;
      return;
    }
    ctx.status = 200;
    ctx.type = TYPES[path.extname(file)] ?? 'application/octet-stream';
    ctx.length = stat.size;
    ctx.set('Cache-Control', immutable ? 'public, max-age=31536000, immutable' : 'no-cache');
    ctx.body = ctx.method === 'HEAD' ? null : createReadStream(file);
  };
}
