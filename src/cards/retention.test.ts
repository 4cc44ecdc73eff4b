import { expect } from 'chai';
import { sql } from 'kysely';
import { bootApp, type TestApp } from '../../test/harness.js';
import { until } from '../assistant/testing.js';
import { CARD_JOBS, purgeCardEvents } from './jobs.js';

describe('card event retention', () => {
  let app: TestApp;
  before(async () => {
    app = await bootApp({ CARDS_EVENT_RETENTION_DAYS: '30' });
  });
  after(() => app.close());
  const db = () => app.database.db;

  async function events(daysAgo: number[], kinds: string[]): Promise<{ id: string; kind: string; daysAgo: number }[]> {
    const staff = await db().selectFrom('staff').select('id').where('username', '=', 'am.lina').executeTakeFirstOrThrow();
    const rows: { id: string; kind: string; daysAgo: number }[] = [];
    for (const d of daysAgo) {
      for (const kind of kinds) {
        const { rows: [row] } = await sql<{ id: string }>`INSERT INTO card_events (staff_id, kind, visitor_id, at)
          VALUES (${staff.id}, ${kind}, 'v-test', now() - make_interval(days => ${d})) RETURNING id::text`.execute(db());
        rows.push({ id: row!.id, kind, daysAgo: d });
      }
    }
    return rows;
  }
  const remaining = async (ids: string[]) =>
    (await sql<{ id: string }>`SELECT id::text FROM card_events WHERE id = ANY(${ids}::bigint[])`.execute(db())).rows.map((r) => r.id).sort();

  it('is scheduled nightly', async () => {
    const { rows } = await app.database.pool.query<{ repeat_interval: string }>(`SELECT repeat_interval FROM agenda_jobs WHERE name = $1`, [CARD_JOBS.eventRetention]);
    expect(rows.map((r) => r.repeat_interval)).to.deep.equal(['50 3 * * *']);
  });

  it('deletes views, shares, scans and product views older than CARDS_EVENT_RETENTION_DAYS, and keeps newer ones and every customer added through a card', async () => {
    const made = await events([31, 29, 1], ['view', 'share', 'scan', 'product_view', 'added']);
    await app.jobs.enqueue(CARD_JOBS.eventRetention, {}, { key: 'test-run', cause: { type: 'system', id: 'test' } });
    const expected = made.filter((e) => e.daysAgo < 30 || e.kind === 'added').map((e) => e.id).sort();
    await until(async () => (await remaining(made.map((e) => e.id))).length === expected.length, 'the old visitor events to be deleted');
    expect(await remaining(made.map((e) => e.id))).to.deep.equal(expected);
  });

  it('deletes in batches until none is left past the retention', async () => {
    const staff = await db().selectFrom('staff').select('id').where('username', '=', 'am.lina').executeTakeFirstOrThrow();
    await sql`INSERT INTO card_events (staff_id, kind, visitor_id, at)
      SELECT ${staff.id}, 'view', 'v-' || g, now() - interval '40 days' FROM generate_series(1, 25000) g`.execute(db());
    expect(await purgeCardEvents(db(), 30)).to.equal(25_000);
    const left = await sql<{ n: number }>`SELECT count(*)::int AS n FROM card_events WHERE kind = 'view' AND at < now() - interval '30 days'`.execute(db());
    expect(left.rows[0]!.n).to.equal(0);
  });
});
