import pg from 'pg';
import { Kysely, Migrator, PostgresDialect, type MigrationResultSet } from 'kysely';
import type { Logger } from '../logger.js';
import { migrations } from './migrations/index.js';
import type { Database } from './schema.js';

// numeric and bigint come back as strings (exact); dates as 'YYYY-MM-DD' strings, not shifted Dates.
pg.types.setTypeParser(1082, (value: string) => value);

export type Db = Kysely<Database>;

export interface DatabaseHandle {
  url: string;
  pool: pg.Pool;
  db: Db;
  /** True when a trivial query answers within the timeout. */
  ping(timeoutMs?: number): Promise<boolean>;
  close(): Promise<void>;
}

export function openDatabase(options: { url: string; poolMax: number; logger: Logger; applicationName?: string }): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    application_name: options.applicationName ?? 'xinghe-scrm',
  });
  // An idle client losing its server emits 'error' on the pool; unhandled, it would crash the process.
  pool.on('error', (error) => options.logger.warn({ err: error }, 'database connection lost'));
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  let closed = false;
  return {
    url: options.url,
    pool,
    db,
    async ping(timeoutMs = 2_000) {
      let timer: NodeJS.Timeout | undefined;
      try {
        const query = pool.query('SELECT 1');
        const timeout = new Promise<never>((_, reject) => {
          timer = setTimeout(() => reject(new Error('database ping timed out')), timeoutMs);
        });
        await Promise.race([query, timeout]);
        return true;
      } catch {
        return false;
      } finally {
        clearTimeout(timer);
      }
    },
    async close() {
      if (closed) return;
      closed = true;
      await db.destroy();
    },
  };
}

/** Applies every pending migration in order; safe to run on every start and from several nodes. */
export async function migrateToLatest(db: Kysely<unknown>, logger: Logger): Promise<MigrationResultSet> {
  const migrator = new Migrator({ db, provider: { getMigrations: async () => migrations } });
  const result = await migrator.migrateToLatest();
  for (const r of result.results ?? []) {
    logger[r.status === 'Error' ? 'error' : 'info']({ migration: r.migrationName, status: r.status }, 'migration');
  }
  if (result.error) throw result.error instanceof Error ? result.error : new Error(String(result.error));
  return result;
}
