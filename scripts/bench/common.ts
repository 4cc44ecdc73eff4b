import { mkdirSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { startEmbeddedPostgres, type EmbeddedServer } from '../../src/platform/db/embedded.js';
import type { Logger } from '../../src/platform/logger.js';

/** Pieces every benchmark script shares. */

/** A port that was free a moment ago (the OS picks it). */
export function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer().once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
  });
}

/** One statement on its own connection (CREATE DATABASE and the like cannot share a pool's transaction). */
export async function adminQuery(adminUrl: string, text: string): Promise<pg.QueryResult> {
  const client = new pg.Client({ connectionString: adminUrl });
  await client.connect();
  try {
    return await client.query(text);
  } finally {
    await client.end();
  }
}

/**
 * The PostgreSQL server a benchmark runs on: BENCH_DATABASE_URL when set, otherwise an embedded
 * server with its cluster under `dataDir` (kept between runs), which the caller stops.
 */
export async function benchServer(dataDir: string, logger: Logger): Promise<{ adminUrl: string; embedded?: EmbeddedServer }> {
  const given = process.env.BENCH_DATABASE_URL;
  if (given) return { adminUrl: given };
  const dir = path.resolve(dataDir);
  mkdirSync(dir, { recursive: true });
  process.stderr.write(`starting embedded PostgreSQL under ${dir}\n`);
  const embedded = await startEmbeddedPostgres({ dataDir: dir, port: await freePort(), logger });
  return { adminUrl: embedded.url, embedded };
}
