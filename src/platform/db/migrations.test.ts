import { expect } from 'chai';
import pg from 'pg';
import { sql, type Kysely } from 'kysely';
import { createLogger } from '../logger.js';
import { migrateToLatest, openDatabase } from './database.js';
import { migrations } from './migrations/index.js';
import { shared } from '../../../test/state.js';

const silent = createLogger({ level: 'silent' });

async function emptyDatabase(name: string): Promise<string> {
  const admin = new pg.Client({ connectionString: shared.adminUrl });
  await admin.connect();
  await admin.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
  await admin.query(`CREATE DATABASE "${name}"`);
  await admin.end();
  const url = new URL(shared.adminUrl!);
  url.pathname = `/${name}`;
  return url.toString();
}

describe('migrations', () => {
  it('apply every migration in order to an empty database', async () => {
    const handle = openDatabase({ url: await emptyDatabase(`scrm_t${process.pid}_empty`), poolMax: 2, logger: silent });
    try {
      const result = await migrateToLatest(handle.db as unknown as Kysely<unknown>, silent);
      expect(result.results?.map((r) => r.migrationName)).to.deep.equal(Object.keys(migrations));
      expect(result.results?.every((r) => r.status === 'Success')).to.equal(true);
      const tables = await sql<{ tablename: string }>`SELECT tablename FROM pg_tables WHERE schemaname = 'public'`.execute(handle.db);
      expect(tables.rows.map((r) => r.tablename)).to.include.members(['staff', 'sessions', 'audit_log', 'customers', 'agenda_jobs', 'follow_relations']);
    } finally {
      await handle.close();
    }
  });

  it('do nothing on an already migrated database', async () => {
    const url = await emptyDatabase(`scrm_t${process.pid}_twice`);
    const first = openDatabase({ url, poolMax: 2, logger: silent });
    await migrateToLatest(first.db as unknown as Kysely<unknown>, silent);
    await first.close();
    const second = openDatabase({ url, poolMax: 2, logger: silent });
    try {
      const result = await migrateToLatest(second.db as unknown as Kysely<unknown>, silent);
      expect(result.results).to.deep.equal([]);
      const applied = await sql<{ n: number }>`SELECT count(*)::int AS n FROM kysely_migration`.execute(second.db);
      expect(applied.rows[0]!.n).to.equal(Object.keys(migrations).length);
    } finally {
      await second.close();
    }
  });

  it('migrate once when two nodes start at the same time', async () => {
    const url = await emptyDatabase(`scrm_t${process.pid}_race`);
    const a = openDatabase({ url, poolMax: 2, logger: silent });
    const b = openDatabase({ url, poolMax: 2, logger: silent });
    try {
      const [ra, rb] = await Promise.all([
        migrateToLatest(a.db as unknown as Kysely<unknown>, silent),
        migrateToLatest(b.db as unknown as Kysely<unknown>, silent),
      ]);
      expect((ra.results?.length ?? 0) + (rb.results?.length ?? 0)).to.equal(Object.keys(migrations).length);
    } finally {
      await a.close();
      await b.close();
    }
  });
});
