import { sql, type Selectable } from 'kysely';
import { recordAudit } from '../audit/index.js';
import type { ComplianceGate, Finding } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';
import type { AuditOutcome, KbChange, KbEntryRow } from '../platform/db/schema.js';
import { AppError, conflict } from '../platform/errors.js';
import { KbIndex, PRODUCT_CONFIG, type IndexConfig, type KbHit, type KbSearchResult, type SearchOptions } from './search.js';
import {
  kbRevision, loadActiveKbEntries, loadKbEntryRow, nextKbId, recordKbVersion, toKbEntry, type KbContent, type KbEntry,
} from './store.js';

/**
 * The knowledge base as the rest of the service uses it: search over an in-memory index of the
 * active entries, and the edits operations staff make (each judged by the compliance gate,
 * versioned and audited, and re-indexed at once on this node).
 *
 * Other nodes notice a change within `refreshMs` (default 10 s): a search first compares the
 * table's revision with the one its index was built from, at most once per `refreshMs`, and
 * rebuilds when it moved.
 */
export interface KnowledgeBaseOptions {
  db: Db;
  gate: ComplianceGate;
  refreshMs?: number;
  /** Milliseconds now; tests pass a fake clock. */
  clock?: () => number;
  config?: IndexConfig;
}

export interface ChangedBy {
  actorType: 'staff' | 'system';
  actorId: string | null;
  ip?: string | null;
  requestId?: string | null;
}

/** What the compliance gate said about a saved answer. */
export interface AnswerJudgement {
  verdict: 'pass' | 'warn' | 'block';
  findings: Finding[];
  /** Disclosures the gate appended to the answer. */
  appended: string[];
  ruleSetVersion: number;
}

export interface SavedKbEntry {
  entry: KbEntry;
  compliance: AnswerJudgement;
}

export interface KbSearchHit extends KbHit {
  entry: KbEntry;
}

export interface KbAnswer extends Omit<KbSearchResult, 'hits'> {
  hits: KbSearchHit[];
}

export const DEFAULT_REFRESH_MS = 10_000;

/** The wealth-product disclaimer an answer flagged `needsDisclaimer` carries. */
export const WEALTH_DISCLAIMER = '理财非存款、产品有风险、投资须谨慎。';

interface Snapshot {
  revision: string;
  index: KbIndex;
  entries: Map<string, KbEntry>;
}

export class KnowledgeBase {
  private readonly db: Db;
  private readonly gate: ComplianceGate;
  private readonly refreshMs: number;
  private readonly clock: () => number;
  private readonly config: IndexConfig;
  private snapshot?: Snapshot;
  private checkedAt = -Infinity;
  private loading?: Promise<Snapshot>;

  constructor(options: KnowledgeBaseOptions) {
    this.db = options.db;
    this.gate = options.gate;
    this.refreshMs = options.refreshMs ?? DEFAULT_REFRESH_MS;
    this.clock = options.clock ?? Date.now;
    this.config = options.config ?? PRODUCT_CONFIG;
  }

  /**
   * Searches the active entries: the `topK` best (default 3) with scores 0–1 and their entries, and
   * whether to hand the conversation to a person (with why). Hits are returned with handoff too.
   */
  async search(query: string, options: SearchOptions = {}): Promise<KbAnswer> {
    const snapshot = await this.current();
    const result = snapshot.index.search(query, options);
    return { ...result, hits: result.hits.map((hit) => ({ ...hit, entry: snapshot.entries.get(hit.id)! })) };
  }

  /** The index in use, refreshed if the table changed (at most one check per `refreshMs`). */
  async current(): Promise<Snapshot> {
    if (this.loading) return this.loading;
    const now = this.clock();
    if (this.snapshot && now - this.checkedAt < this.refreshMs) return this.snapshot;
    const loading = (async () => {
      try {
        const revision = await kbRevision(this.db);
        this.checkedAt = now;
        if (this.snapshot?.revision === revision) return this.snapshot;
        const entries = await loadActiveKbEntries(this.db);
        const index = new KbIndex(entries, this.config, this.snapshot?.index);
        this.snapshot = { revision, index, entries: new Map(entries.map((e) => [e.id, e])) };
        return this.snapshot;
      } finally {
        this.loading = undefined;
      }
    })();
    this.loading = loading;
    return loading;
  }

  /** Forces the next search to rebuild from the table (after a change on this node). */
  async reindex(): Promise<void> {
    // A load already under way may have read the revision before this node's change committed.
    await this.loading?.catch(() => undefined);
    this.checkedAt = -Infinity;
    await this.current();
  }

  async createEntry(content: KbContent & { note?: string | null }, by: ChangedBy): Promise<SavedKbEntry> {
    const { judged, compliance } = await this.judge(content, by, null);
    const saved = await this.db.transaction().execute(async (trx) => {
      // Creation takes the next number; the lock serialises creations across nodes.
      await sql`SELECT pg_advisory_xact_lock(hashtext('kb.create'))`.execute(trx);
      const id = await nextKbId(trx);
      const row = await trx
        .insertInto('kb_entries')
        .values({ id, ...columns(judged), updated_by: by.actorId })
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordKbVersion(trx, row, 'create', content.note ?? null, by.actorId);
      await audit(trx, by, 'kb.entry.create', row, { version: row.version, verdict: compliance.verdict, rules: ruleIds(compliance.findings) });
      return row;
    });
    await this.reindex();
    return { entry: toKbEntry(saved), compliance };
  }

  async updateEntry(id: string, content: KbContent & { note?: string | null; baseVersion?: number }, by: ChangedBy): Promise<SavedKbEntry> {
    const { judged, compliance } = await this.judge(content, by, id);
    const saved = await this.db.transaction().execute(async (trx) => {
      const current = await loadKbEntryRow(trx, id, true);
      if (content.baseVersion !== undefined && content.baseVersion !== current.version) {
        throw conflict(`知识库条目 ${id} 已被他人修改（当前第${current.version}版，您编辑的是第${content.baseVersion}版），请刷新后再改`);
      }
      const row = await trx
        .updateTable('kb_entries')
        .set({ ...columns(judged), version: current.version + 1, updated_by: by.actorId, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordKbVersion(trx, row, 'update', content.note ?? null, by.actorId);
      await audit(trx, by, 'kb.entry.update', row, {
        version: row.version, fields: changedFields(current, row), verdict: compliance.verdict, rules: ruleIds(compliance.findings),
      });
      return row;
    });
    await this.reindex();
    return { entry: toKbEntry(saved), compliance };
  }

  /** Retires an entry (no longer found by search) or restores a retired one; each a new version. */
  async setEntryStatus(id: string, status: 'active' | 'retired', note: string | null, by: ChangedBy): Promise<KbEntry> {
    const change: KbChange = status === 'retired' ? 'retire' : 'restore';
    const saved = await this.db.transaction().execute(async (trx) => {
      const current = await loadKbEntryRow(trx, id, true);
      if (current.status === status) throw conflict(`知识库条目 ${id} 已是${status === 'retired' ? '停用' : '启用'}状态`);
      const row = await trx
        .updateTable('kb_entries')
        .set({ status, version: current.version + 1, updated_by: by.actorId, updated_at: new Date() })
        .where('id', '=', id)
        .returningAll()
        .executeTakeFirstOrThrow();
      await recordKbVersion(trx, row, change, note, by.actorId);
      await audit(trx, by, `kb.entry.${change}`, row, { version: row.version, ...(note ? { note } : {}) });
      return row;
    });
    await this.reindex();
    return toKbEntry(saved);
  }

  /**
   * Judges an answer as the customer would receive it (a service reply about the entry's
   * products). A `block` is refused with a 400 naming each finding under `body.answer`; otherwise
   * the disclosures the gate requires are appended, and an answer flagged `needsDisclaimer` (or
   * needing a disclosure) ends with the wealth disclaimer.
   */
  private async judge(content: KbContent, by: ChangedBy, id: string | null): Promise<{ judged: KbContent; compliance: AnswerJudgement }> {
    const decision = await this.gate.checkAndRecord(
      { text: content.answer, productIds: content.productIds, purpose: 'service' },
      { actorType: by.actorType, actorId: by.actorId, ip: by.ip, requestId: by.requestId, source: 'kb', ...(id ? { target: { type: 'kb_entry', id } } : {}) },
    );
    const compliance: AnswerJudgement = {
      verdict: decision.verdict, findings: decision.findings, appended: decision.appended, ruleSetVersion: decision.ruleSetVersion,
    };
    if (decision.verdict === 'block') {
      const blocking = decision.findings.filter((f) => f.kind === 'block');
      await recordAudit(this.db, {
        actorType: by.actorType, actorId: by.actorId, action: id ? 'kb.entry.update' : 'kb.entry.create', targetType: 'kb_entry', targetId: id ?? undefined,
        ip: by.ip ?? null, requestId: by.requestId ?? null, outcome: 'denied' satisfies AuditOutcome,
        detail: { verdict: 'block', rules: ruleIds(blocking), ruleSetVersion: decision.ruleSetVersion },
      });
      const named = [...new Set(blocking.map((f) => `「${f.match}」`))].join('、');
      throw new AppError('invalid', `答案未通过合规检查：含禁止用语${named}`, {
        code: 'compliance_block',
        issues: blocking.map((f) => ({ path: 'body.answer', message: `${f.rule}「${f.match}」(${f.start}–${f.end}): ${f.message}` })),
      });
    }
    let answer = decision.text.trim();
    const needsDisclaimer = content.needsDisclaimer || decision.disclosures.length > 0;
    // The gate has appended what the content requires; a flagged answer the gate did not hold to it still gets it once.
    if (needsDisclaimer && !answer.includes(WEALTH_DISCLAIMER.replace(/。$/, ''))) {
      answer = `${answer}${/[。！？.!?]$/.test(answer) ? '' : '。'}${WEALTH_DISCLAIMER}`;
    }
    return { judged: { ...content, answer, needsDisclaimer }, compliance };
  }
}

function columns(c: KbContent) {
  return {
    category: c.category, question: c.question, alt_questions: c.altQuestions, answer: c.answer, product_ids: c.productIds,
    needs_disclaimer: c.needsDisclaimer, handoff: c.handoff,
  };
}

const ruleIds = (findings: readonly Finding[]) => [...new Set(findings.map((f) => f.rule))];

function changedFields(before: Selectable<KbEntryRow>, after: Selectable<KbEntryRow>): string[] {
  const fields: [string, unknown, unknown][] = [
    ['category', before.category, after.category],
    ['question', before.question, after.question],
    ['altQuestions', before.alt_questions, after.alt_questions],
    ['answer', before.answer, after.answer],
    ['productIds', before.product_ids, after.product_ids],
    ['needsDisclaimer', before.needs_disclaimer, after.needs_disclaimer],
    ['handoff', before.handoff, after.handoff],
  ];
  return fields.filter(([, a, b]) => JSON.stringify(a) !== JSON.stringify(b)).map(([name]) => name);
}

function audit(db: Db, by: ChangedBy, action: string, row: Selectable<KbEntryRow>, detail: Record<string, unknown>) {
  return recordAudit(db, {
    actorType: by.actorType, actorId: by.actorId, action, targetType: 'kb_entry', targetId: row.id, ip: by.ip ?? null, requestId: by.requestId ?? null,
    outcome: 'success', detail,
  });
}
