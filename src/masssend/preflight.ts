import { sql } from 'kysely';
import { customerScope } from '../auth/index.js';
import type { CheckResult } from '../compliance/index.js';
import { blockReason, quietHoursEnd } from '../outbox/index.js';
import { invalid } from '../platform/errors.js';
import type { Actor } from '../platform/http/context.js';
import { segmentSqlById } from '../segments/index.js';
import { getSetting } from '../settings/index.js';
import { memberNames } from './progress.js';
import { approvedContent, checkAudience } from './store.js';
import type { CreateMassSendInput } from './store.js';
import type { MassSendDeps } from './types.js';

/**
 * What a mass send would do if it were created now, without writing anything: the content as it
 * would leave (the gate's verdict on the text, the disclosures), how many customers of the audience
 * have a live WeCom relation (rows) and how many would be skipped, how many tasks members would
 * have to confirm, and the gate's per-customer verdicts (marketing consent, product suitability)
 * counted over every reachable customer. The console shows it before the operator confirms.
 *
 * Per-customer verdicts depend only on a customer's risk level, assessment date and consent, so
 * customers are grouped by those and the gate judges each group once: exact for any audience size.
 */
export interface PreflightMember {
  userid: string;
  name: string | null;
  customers: number;
}

export interface PreflightResult {
  content: {
    materialId: string;
    materialVersion: number;
    title: string;
    /** The text as it would be sent (ends with its disclosures). */
    text: string;
    attachments: number;
    productIds: string[];
    verdict: CheckResult['verdict'];
    findings: { rule: string; match: string; kind: 'block' | 'warn'; message: string }[];
    /** Disclosures the gate would still append (normally none: approved materials carry theirs). */
    appended: string[];
  };
  /** Customers in the audience (a segment counted now in the caller's scope, a snapshot as frozen). */
  audience: number;
  /** Of those, customers with a live WeCom relation: one row each. */
  reachable: number;
  /** Customers without a live WeCom relation: no row (无企微好友关系). */
  skipped: number;
  /** Members who would each get one task to confirm, most customers first (at most 50). */
  members: PreflightMember[];
  memberCount: number;
  /** The gate's verdicts for the reachable customers, and why the blocked ones would be blocked. */
  gate: { pass: number; warn: number; block: number; reasons: { reason: string; count: number }[] };
  scheduledAt: string;
  /** When the send time falls in the quiet hours, the moment the dispatcher would hand the tasks to WeCom. */
  quietUntil: string | null;
}

const MEMBERS_SHOWN = 50;

export async function massSendPreflight(
  deps: Pick<MassSendDeps, 'db' | 'gate' | 'gateway' | 'now'>,
  actor: Actor,
  input: Omit<CreateMassSendInput, 'name'>,
): Promise<PreflightResult> {
  const { db } = deps;
  const now = deps.now?.() ?? new Date();
  const scheduledAt = input.scheduledAt ?? now;
  if (scheduledAt.getTime() < now.getTime() - 60_000) throw invalid('invalid body', [{ path: 'body.scheduledAt', message: '发送时间不能早于当前时间' }]);
  const corpId = await deps.gateway.registry.resolve(input.corpId, 'body.corpId');
  const content = await approvedContent(db, input.materialId);
  await checkAudience(db, input.audience);

  const judged = await deps.gate.checkMessage({ text: content.text, productIds: content.productIds, purpose: input.purpose, now: scheduledAt });

  const ids = 'segmentId' in input.audience
    ? db.selectFrom('customers').select('customers.id').where(customerScope(actor)).where('customers.id', 'in', await segmentSqlById(db, input.audience.segmentId, { now }))
    : db.selectFrom('segment_snapshot_members').select('customer_id as id').where('snapshot_id', '=', input.audience.snapshotId);

  // The relation the fan-out would pick: one per customer, the most recently added.
  const picked = sql`
    WITH audience AS MATERIALIZED (${ids}),
    relation AS (
      SELECT DISTINCT ON (ec.customer_id) ec.customer_id, fr.userid
        FROM external_contacts ec
        JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
       WHERE ec.corp_id = ${corpId} AND ec.customer_id IN (SELECT id FROM audience)
       ORDER BY ec.customer_id, fr.added_at DESC NULLS LAST, fr.userid)`;
  const [audience, groups, members] = await Promise.all([
    sql<{ n: number }>`${picked} SELECT count(*)::int AS n FROM audience`.execute(db),
    sql<{ risk_level: 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | null; risk_assessed_at: string | null; marketing_consent: boolean; n: number }>`
      ${picked}
      SELECT c.risk_level, c.risk_assessed_at, c.marketing_consent, count(*)::int AS n
        FROM relation r JOIN customers c ON c.id = r.customer_id
       GROUP BY 1, 2, 3`.execute(db),
    sql<{ userid: string; n: number }>`${picked} SELECT userid, count(*)::int AS n FROM relation GROUP BY userid ORDER BY n DESC, userid`.execute(db),
  ]);

  const gate = { pass: 0, warn: 0, block: 0, reasons: [] as { reason: string; count: number }[] };
  const reasons = new Map<string, number>();
  for (const g of groups.rows) {
    const decision = await deps.gate.checkMessage({
      text: content.text,
      productIds: content.productIds,
      purpose: input.purpose,
      customer: { riskLevel: g.risk_level, riskAssessedAt: g.risk_assessed_at, marketingConsent: g.marketing_consent },
      now: scheduledAt,
    });
    gate[decision.verdict] += g.n;
    if (decision.verdict === 'block') {
      const reason = blockReason(decision);
      reasons.set(reason, (reasons.get(reason) ?? 0) + g.n);
    }
  }
  gate.reasons = [...reasons.entries()].map(([reason, count]) => ({ reason, count })).sort((a, b) => b.count - a.count || a.reason.localeCompare(b.reason));

  const reachable = groups.rows.reduce((sum, g) => sum + g.n, 0);
  const shown = members.rows.slice(0, MEMBERS_SHOWN);
  const names = await memberNames(db, corpId, shown.map((m) => m.userid));
  const quiet = quietHoursEnd(scheduledAt, await getSetting(db, 'outbound.quietHours'));
  return {
    content: {
      materialId: content.materialId,
      materialVersion: content.materialVersion,
      title: content.title,
      text: judged.text,
      attachments: content.attachments.length,
      productIds: content.productIds,
      verdict: judged.verdict,
      findings: judged.findings.map((f) => ({ rule: f.rule, match: f.match, kind: f.kind, message: f.message })),
      appended: judged.appended,
    },
    audience: audience.rows[0]?.n ?? 0,
    reachable,
    skipped: (audience.rows[0]?.n ?? 0) - reachable,
    members: shown.map((m) => ({ userid: m.userid, name: names.get(m.userid) ?? null, customers: m.n })),
    memberCount: members.rows.length,
    gate,
    scheduledAt: scheduledAt.toISOString(),
    quietUntil: quiet ? quiet.toISOString() : null,
  };
}
