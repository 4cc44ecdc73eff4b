import { sql } from 'kysely';
import type { Db } from '../../platform/db/database.js';
import type { Logger } from '../../platform/logger.js';
import { wecomApi, type WeComApi } from '../api.js';
import type { WeComGateway } from '../client/index.js';
import { contactWayIdForState, replaceRelationTags, storeCorpTags, storeGroupChat, upsertContact, upsertRelation } from './store.js';

/**
 * The full reconcile: directory, corp tags, every member's customers, customer groups, then the
 * retirement of what WeCom no longer lists. It repairs drift that callbacks missed and reports what
 * it fixed. It saves a checkpoint after every page, so a run interrupted by a crash or an outage
 * resumes where it stopped instead of starting again.
 */
export type Step = 'directory' | 'tags' | 'contacts' | 'groups' | 'retire' | 'done';
const STEPS: Step[] = ['directory', 'tags', 'contacts', 'groups', 'retire', 'done'];

export interface Checkpoint {
  step: Step;
  /** contacts: index of the next chunk of 100 members, and the cursor inside it. */
  chunk?: number;
  cursor?: string;
  pages?: number;
  /** contacts: relations read so far in this run (for the progress estimate). */
  seen?: number;
}

export interface ReconcileReport {
  members: { added: number; removed: number };
  tags: { added: number; updated: number; removed: number };
  contacts: { added: number; updated: number };
  relations: { added: number; updated: number; restored: number; removed: number };
  relationTags: { added: number; removed: number };
  groups: { stored: number; dismissed: number };
  /** Up to 20 examples of each repair, for the operator reading the report. */
  samples: Record<string, string[]>;
}

const emptyReport = (): ReconcileReport => ({
  members: { added: 0, removed: 0 },
  tags: { added: 0, updated: 0, removed: 0 },
  contacts: { added: 0, updated: 0 },
  relations: { added: 0, updated: 0, restored: 0, removed: 0 },
  relationTags: { added: 0, removed: 0 },
  groups: { stored: 0, dismissed: 0 },
  samples: {},
});

const sample = (report: ReconcileReport, kind: string, value: string) => {
  const list = (report.samples[kind] ??= []);
  if (list.length < 20) list.push(value);
};

export interface ReconcileDeps {
  db: Db;
  gateway: WeComGateway;
  logger: Logger;
}

/**
 * Where a run is, for the console's live progress (`wecom.sync.progress`). `percent` is an estimate:
 * each step has a share (directory 10, tags 5, contacts 70, groups 10, retirement 5), and inside the
 * contacts step the share read so far is the relations read against the live relations the database
 * held when the step started (or, with none yet, the chunks of 100 members done).
 */
export interface ReconcileProgress {
  runId: string;
  corpId: string;
  /** The step in progress; `done` at the end. */
  step: Step;
  /** 1-based number of the step in progress, out of `stepCount` (5). */
  stepNumber: number;
  stepCount: number;
  percent: number;
  /** In the contacts step: chunks of 100 members done of all, relations read, live relations stored before the step. */
  contacts: { chunk: number; chunks: number; seen: number; expected: number } | null;
  /** The report so far, without its samples. */
  counts: Omit<ReconcileReport, 'samples'>;
}

export interface ReconcileHooks {
  /** Called at the start of each step and after each page of contacts; cheap, synchronous. */
  onProgress?(progress: ReconcileProgress): void;
}

const WORK_STEPS = STEPS.length - 1;
const SHARES: Record<Step, [number, number]> = { directory: [0, 10], tags: [10, 15], contacts: [15, 85], groups: [85, 95], retire: [95, 100], done: [100, 100] };

const countsOf = (report: ReconcileReport): Omit<ReconcileReport, 'samples'> => {
  const { samples: _samples, ...counts } = report;
  return structuredClone(counts);
};

export async function createReconcileRun(db: Db, corpId: string, cause: string): Promise<string> {
  const row = await db
    .insertInto('wecom_sync_runs')
    .values({ corp_id: corpId, kind: 'full', status: 'running', checkpoint: JSON.stringify({ step: 'directory' }), report: JSON.stringify(emptyReport()), error: null, cause, finished_at: null })
    .returning('id')
    .executeTakeFirstOrThrow();
  return row.id;
}

/** Runs (or resumes) one reconcile run to its end. Throws on failure, leaving the checkpoint for the retry. */
export async function runReconcile(deps: ReconcileDeps, runId: string, hooks: ReconcileHooks = {}): Promise<ReconcileReport> {
  const { db } = deps;
  const run = await db.selectFrom('wecom_sync_runs').selectAll().where('id', '=', runId).executeTakeFirstOrThrow();
  if (run.status === 'done') return run.report as unknown as ReconcileReport;
  const corpId = run.corp_id;
  const api = wecomApi(deps.gateway.client(corpId, 'contact'));
  const report = { ...emptyReport(), ...(run.report as unknown as Partial<ReconcileReport>) } as ReconcileReport;
  let checkpoint = run.checkpoint as unknown as Checkpoint;
  const save = async (next: Checkpoint) => {
    checkpoint = next;
    await db.updateTable('wecom_sync_runs').set({ checkpoint: JSON.stringify(next), report: JSON.stringify(report) }).where('id', '=', runId).execute();
  };
  const log = deps.logger.child({ corpId, runId });
  const progress = (step: Step, contacts: ReconcileProgress['contacts'] = null) => {
    if (!hooks.onProgress) return;
    const [from, to] = SHARES[step];
    let inside = 0;
    if (contacts) inside = contacts.expected > 0 ? Math.min(contacts.seen / contacts.expected, 0.99) : contacts.chunks ? contacts.chunk / contacts.chunks : 0;
    const percent = Math.round((from + (to - from) * inside) * 10) / 10;
    hooks.onProgress({ runId, corpId, step, stepNumber: Math.min(STEPS.indexOf(step) + 1, WORK_STEPS), stepCount: WORK_STEPS, percent, contacts, counts: countsOf(report) });
  };

  while (checkpoint.step !== 'done') {
    const step = checkpoint.step;
    progress(step);
    if (step === 'directory') await syncDirectory(db, api, corpId, report);
    else if (step === 'tags') Object.assign(report.tags, await storeCorpTags(db, corpId, await api.corpTags()));
    else if (step === 'contacts') {
      await syncContacts(db, api, corpId, report, checkpoint, save, (c) => progress('contacts', c));
    } else if (step === 'groups') await syncGroups(db, api, corpId, report, run.started_at);
    else if (step === 'retire') await retireUnseen(db, corpId, report, run.started_at);
    const next = STEPS[STEPS.indexOf(step) + 1]!;
    await save({ step: next });
    log.debug({ step, next }, 'reconcile step done');
  }
  await db.updateTable('wecom_sync_runs').set({ status: 'done', finished_at: new Date(), report: JSON.stringify(report), error: null }).where('id', '=', runId).execute();
  progress('done');
  log.info({ report: { ...report, samples: undefined } }, 'reconcile finished');
  return report;
}

async function syncDirectory(db: Db, api: WeComApi, corpId: string, report: ReconcileReport): Promise<void> {
  const departments = await api.departments();
  const seen = new Set<string>();
  for (const d of departments) {
    const values = { name: d.name, parent_id: d.parentid, sort_order: d.order, synced_at: new Date(), deleted_at: null };
    await db.insertInto('wecom_departments').values({ corp_id: corpId, id: d.id, ...values }).onConflict((oc) => oc.columns(['corp_id', 'id']).doUpdateSet(values)).execute();
  }
  for (const d of departments) {
    for (const m of await api.members(d.id)) {
      if (seen.has(m.userid)) continue;
      seen.add(m.userid);
      const values = { name: m.name, departments: m.department, main_department: m.main_department ?? null, position: m.position ?? null, status: m.status ?? 1, synced_at: new Date(), deleted_at: null };
      const result = await db
        .insertInto('wecom_members')
        .values({ corp_id: corpId, userid: m.userid, ...values })
        .onConflict((oc) => oc.columns(['corp_id', 'userid']).doUpdateSet(values))
        .returning(sql<boolean>`(xmax = 0)`.as('inserted'))
        .executeTakeFirstOrThrow();
      if (result.inserted) report.members.added++;
    }
  }
  let gone = db.updateTable('wecom_members').set({ deleted_at: new Date() }).where('corp_id', '=', corpId).where('deleted_at', 'is', null);
  if (seen.size) gone = gone.where('userid', 'not in', [...seen]);
  report.members.removed += Number((await gone.executeTakeFirst()).numUpdatedRows);
}

async function syncContacts(
  db: Db,
  api: WeComApi,
  corpId: string,
  report: ReconcileReport,
  checkpoint: Checkpoint,
  save: (c: Checkpoint) => Promise<void>,
  onPage: (c: NonNullable<ReconcileProgress['contacts']>) => void,
): Promise<void> {
  const members = (await db.selectFrom('wecom_members').select('userid').where('corp_id', '=', corpId).where('deleted_at', 'is', null).where('status', '=', 1).orderBy('userid').execute()).map((m) => m.userid);
  const { expected } = await db
    .selectFrom('follow_relations')
    .select((eb) => eb.fn.countAll<string>().as('expected'))
    .where('corp_id', '=', corpId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  const chunks = Math.ceil(members.length / 100);
  let seen = checkpoint.seen ?? 0;
  const wayByState = new Map<string, string | null>();
  for (let chunk = checkpoint.chunk ?? 0; chunk * 100 < members.length; chunk++) {
    const userids = members.slice(chunk * 100, chunk * 100 + 100);
    let cursor = chunk === checkpoint.chunk ? (checkpoint.cursor ?? '') : '';
    let pages = chunk === checkpoint.chunk ? (checkpoint.pages ?? 0) : 0;
    do {
      const page = await api.contactsByMembers(userids, cursor);
      for (const { external_contact: contact, follow_info: follow } of page.external_contact_list) {
        seen++;
        const c = await upsertContact(db, corpId, contact);
        if (c !== 'same') report.contacts[c]++;
        const state = follow.state ?? '';
        if (!wayByState.has(state)) wayByState.set(state, await contactWayIdForState(db, corpId, state));
        const r = await upsertRelation(db, corpId, contact.external_userid, follow, wayByState.get(state) ?? null);
        if (r !== 'same') {
          report.relations[r]++;
          sample(report, `relations.${r}`, `${follow.userid}→${contact.external_userid}`);
        }
        const tags = await replaceRelationTags(db, corpId, follow.userid, contact.external_userid, follow.tag_id ?? []);
        report.relationTags.added += tags.added.length;
        report.relationTags.removed += tags.removed.length;
        if (r === 'same' && (tags.added.length || tags.removed.length)) sample(report, 'relationTags', `${follow.userid}→${contact.external_userid}`);
      }
      cursor = page.next_cursor ?? '';
      pages++;
      await save(cursor ? { step: 'contacts', chunk, cursor, pages, seen } : { step: 'contacts', chunk: chunk + 1, cursor: '', pages: 0, seen });
      onPage({ chunk: cursor ? chunk : chunk + 1, chunks, seen, expected: Number(expected) });
    } while (cursor);
  }
}

async function syncGroups(db: Db, api: WeComApi, corpId: string, report: ReconcileReport, startedAt: Date): Promise<void> {
  let cursor = '';
  do {
    const page = await api.groupChats(cursor);
    for (const g of page.group_chat_list) {
      await storeGroupChat(db, corpId, await api.groupChat(g.chat_id), g.status);
      report.groups.stored++;
    }
    cursor = page.next_cursor ?? '';
  } while (cursor);
  const gone = await db
    .updateTable('wecom_groups')
    .set({ dismissed_at: new Date() })
    .where('corp_id', '=', corpId)
    .where('dismissed_at', 'is', null)
    .where('synced_at', '<', startedAt)
    .executeTakeFirst();
  report.groups.dismissed += Number(gone.numUpdatedRows);
}

/** Relations this run never saw are gone from WeCom: a callback was missed. */
async function retireUnseen(db: Db, corpId: string, report: ReconcileReport, startedAt: Date): Promise<void> {
  const rows = await db
    .updateTable('follow_relations')
    .set({ deleted_at: new Date(), updated_at: new Date() })
    .where('corp_id', '=', corpId)
    .where('deleted_at', 'is', null)
    .where((eb) => eb.or([eb('synced_at', 'is', null), eb('synced_at', '<', startedAt)]))
    .returning(['userid', 'external_userid'])
    .execute();
  report.relations.removed += rows.length;
  for (const r of rows) sample(report, 'relations.removed', `${r.userid}→${r.external_userid}`);
}
