import { createHash } from 'node:crypto';
import type Koa from 'koa';
import type { Core } from './core.js';

/**
 * The sandbox also plays WeCom's image host: a contact way's `qr_code` is
 * `https://wework.qpic.cn/wwpic/<n>_<id>/0`, and `GET /wwpic/<n>_<id>/0` on the sandbox answers an
 * SVG picture of that code, so pages that show a code have an image in sandbox mode. The picture has
 * a QR code's look (finder and timing patterns, modules drawn from the way's id) and names the way's
 * state, but it is not a scannable code: in the sandbox a scan is `POST /sandbox/simulate/scan`.
 */
const SIZE = 29;
const CELL = 8;
const QUIET = 4;

function modules(seed: string): boolean[][] {
  const grid = Array.from({ length: SIZE }, () => Array<boolean>(SIZE).fill(false));
  const reserved = Array.from({ length: SIZE }, () => Array<boolean>(SIZE).fill(false));
  const finder = (top: number, left: number) => {
    for (let r = -1; r <= 7; r++) {
      for (let c = -1; c <= 7; c++) {
        const y = top + r;
        const x = left + c;
        if (y < 0 || x < 0 || y >= SIZE || x >= SIZE) continue;
        reserved[y]![x] = true;
        const ring = Math.max(Math.abs(r - 3), Math.abs(c - 3));
        grid[y]![x] = r >= 0 && r <= 6 && c >= 0 && c <= 6 && ring !== 2;
      }
    }
  };
  finder(0, 0);
  finder(0, SIZE - 7);
  finder(SIZE - 7, 0);
  for (let i = 8; i < SIZE - 8; i++) {
    grid[6]![i] = grid[i]![6] = i % 2 === 0;
    reserved[6]![i] = reserved[i]![6] = true;
  }
  let bits: Buffer = Buffer.alloc(0);
  let counter = 0;
  let bit = 0;
  const next = () => {
    if (bit >= bits.length * 8) {
      bits = createHash('sha256').update(`${seed}:${counter++}`).digest();
      bit = 0;
    }
    const value = (bits[bit >> 3]! >> (7 - (bit & 7))) & 1;
    bit++;
    return value === 1;
  };
  for (let y = 0; y < SIZE; y++) for (let x = 0; x < SIZE; x++) if (!reserved[y]![x]) grid[y]![x] = next();
  return grid;
}

const escapeXml = (s: string) => s.replace(/[<>&"']/g, (c) => `&#${c.charCodeAt(0)};`);

export function qrSvg(seed: string, caption: string): string {
  const grid = modules(seed);
  const side = (SIZE + QUIET * 2) * CELL;
  const rects: string[] = [];
  grid.forEach((row, y) =>
    row.forEach((on, x) => {
      if (on) rects.push(`<rect x="${(x + QUIET) * CELL}" y="${(y + QUIET) * CELL}" width="${CELL}" height="${CELL}"/>`);
    }),
  );
  return `<svg xmlns="http://www.w3.org/2000/svg" width="${side}" height="${side + 28}" viewBox="0 0 ${side} ${side + 28}">`
    + `<rect width="100%" height="100%" fill="#fff"/><g fill="#111">${rects.join('')}</g>`
    + `<text x="${side / 2}" y="${side + 14}" font-size="12" text-anchor="middle" fill="#666" font-family="sans-serif">${escapeXml(caption)}</text></svg>`;
}

export function qrImageMiddleware(core: Core): Koa.Middleware {
  return async (ctx) => {
    const match = /^\/wwpic\/([^/]+)\/0$/.exec(ctx.path);
    const way = match
      ? [...core.world.contactWays.values()].find((w) => !w.deleted && w.qr_code && new URL(w.qr_code).pathname === ctx.path)
      : undefined;
    if (!way) {
      ctx.status = 404;
      ctx.body = 'Not Found';
      return;
    }
    ctx.type = 'image/svg+xml';
    ctx.set('Cache-Control', 'public, max-age=86400');
    ctx.body = qrSvg(way.config_id, `沙箱二维码 · ${way.state || way.config_id.slice(0, 8)}`);
  };
}
