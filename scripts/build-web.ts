/**
 * Builds the web pages (web/ → web/dist) with Vite. `--if-stale` skips the build when nothing under
 * web/ is newer than the last build, so `npm start` builds once after a checkout and then starts at once.
 */
import { existsSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { build } from 'vite';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..', 'web');
const outDir = path.resolve(process.env.WEB_OUT_DIR ?? path.join(webDir, 'dist'));
const stamp = path.join(outDir, '.built');

function newest(dir: string): number {
  let latest = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const full = path.join(dir, entry.name);
    if (full === outDir || entry.name === 'node_modules') continue;
    latest = Math.max(latest, entry.isDirectory() ? newest(full) : statSync(full).mtimeMs);
  }
  return latest;
}

const ifStale = process.argv.includes('--if-stale');
if (ifStale && existsSync(stamp) && statSync(stamp).mtimeMs >= newest(webDir)) {
  console.log('web pages are up to date');
} else {
  const started = Date.now();
  await build({ configFile: path.join(webDir, 'vite.config.ts'), logLevel: 'warn', build: { outDir, emptyOutDir: true } });
  writeFileSync(stamp, new Date().toISOString());
  console.log(`web pages built into ${path.relative(process.cwd(), outDir) || outDir} in ${((Date.now() - started) / 1000).toFixed(1)} s`);
}
