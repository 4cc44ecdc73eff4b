import { sql } from 'kysely';
import type { ComplianceGate } from '../compliance/index.js';
import { customerFacts } from '../outbox/index.js';
import { compileFilter } from '../filters/index.js';
import type { Db } from '../platform/db/database.js';
import { getSetting } from '../settings/index.js';
import { nextStepId, type SopStep, type SopTemplate } from './definition.js';
import { stepContent, waitUntil } from './steps.js';
import { outOfQuietHours, parseDuration, atLocalTime } from './schedule.js';
import { subjectVariables, type Subject } from './subjects.js';
import { renderText } from './render.js';
import { dateSelection, everyone, firings, type Selection } from './triggers.js';

/**
 * A dry run: for a template and a day, who would enrol and what each would receive, rendered and
 * judged by the compliance gate, without writing anything. It uses the engine's own selection,
 * rendering, waits and gate, so the real run on that day sends the same texts to the same people.
 * Branches on a reply or an event take their `else` path (no reply is assumed); conditions and
 * `when` filters are evaluated against today's data.
 */
export interface DryRunStep {
  stepId: string;
  kind: SopStep['type'];
  at: string;
  /** What the step would do, in Chinese. */
  action: string;
  text?: string;
  verdict?: 'pass' | 'warn' | 'block';
  findings?: { rule: string; match: string }[];
  delivery?: string;
  error?: string;
}

export interface DryRunEntry {
  customerId: string;
  name: string;
  memberUserid: string | null;
  occurrence: string;
  steps: DryRunStep[];
}

export interface DryRunResult {
  date: string;
  firings: string[];
  total: number;
  customers: DryRunEntry[];
  note?: string;
}

interface PreviewRow {
  customer_id: string;
  occurrence: string;
  context: Record<string, unknown>;
  name: string;
  gender: 'M' | 'F' | null;
  birth_date: string | null;
  branch_id: string | null;
  branch_name: string | null;
  risk_assessed_at: string | null;
  marketing_consent: boolean;
  corp_id: string | null;
  userid: string | null;
  external_userid: string | null;
  member_name: string | null;
}

/** The customers a selection and the audience pick, with what a message needs — the same joins enrolment makes. */
async function preview(db: Db, template: SopTemplate, selection: Selection, now: Date, limit: number): Promise<{ total: number; rows: PreviewRow[] }> {
  const audience = template.audience ? compileFilter(template.audience, { now, alias: 'c' }) : sql`true`;
  const picked = sql`SELECT p.customer_id, p.occurrence, p.context FROM (${selection}) AS p JOIN customers c ON c.id = p.customer_id WHERE ${audience}`;
  const total = (await sql<{ n: number }>`SELECT count(*)::int AS n FROM (${picked}) x`.execute(db)).rows[0]?.n ?? 0;
  const { rows } = await sql<PreviewRow>`
    SELECT p.customer_id, p.occurrence, p.context, c.name, c.gender, to_char(c.birth_date, 'YYYY-MM-DD') AS birth_date, c.branch_id, b.name AS branch_name,
           to_char(c.risk_assessed_at, 'YYYY-MM-DD') AS risk_assessed_at, c.marketing_consent, r.corp_id, r.userid, r.external_userid,
           COALESCE((SELECT display_name FROM staff s WHERE s.corp_id = r.corp_id AND s.wecom_userid = r.userid LIMIT 1), m.name) AS member_name
      FROM (${picked}) p
      JOIN customers c ON c.id = p.customer_id
      LEFT JOIN branches b ON b.id = c.branch_id
      LEFT JOIN LATERAL (
        SELECT fr.corp_id, fr.userid, fr.external_userid FROM external_contacts ec
          JOIN follow_relations fr ON fr.corp_id = ec.corp_id AND fr.external_userid = ec.external_userid AND fr.deleted_at IS NULL
         WHERE ec.customer_id = p.customer_id ORDER BY fr.added_at DESC NULLS LAST LIMIT 1) r ON true
      LEFT JOIN wecom_members m ON m.corp_id = r.corp_id AND m.userid = r.userid
     ORDER BY c.cif_no, p.occurrence
     LIMIT ${limit}`.execute(db);
  return { total, rows };
}

const ACTIONS: Record<SopStep['type'], string> = {
  wait: '等待',
  send: '发送消息',
  group_send: '群发到客户群',
  tag: '打标签',
  task: '给客户经理创建任务',
  notify: '提醒',
  branch: '分支判断',
  end: '结束旅程',
};

async function holds(db: Db, customerId: string, filter: NonNullable<SopStep['when']>, now: Date): Promise<boolean> {
  return Boolean(await db.selectFrom('customers as c').select('c.id').where('c.id', '=', customerId).where(compileFilter(filter, { now })).executeTakeFirst());
}

export async function dryRun(deps: { db: Db; gate: ComplianceGate }, template: SopTemplate, day: string, options: { limit?: number; now?: Date } = {}): Promise<DryRunResult> {
  const { db } = deps;
  const limit = options.limit ?? 50;
  const trigger = template.trigger;
  const tz = trigger.type === 'event' ? 'Asia/Shanghai' : trigger.timezone;
  const dayStart = atLocalTime(day, '00:00', tz);
  const dayEnd = new Date(dayStart.getTime() + 86_400_000 - 1);
  const times = trigger.type === 'event' ? [{ at: atLocalTime(day, '09:00', tz), occurrence: '', day }] : firings(trigger, new Date(dayStart.getTime() - 1), dayEnd);
  const [quietHours, calendar] = await Promise.all([getSetting(db, 'outbound.quietHours'), getSetting(db, 'sop.workingCalendar')]);
  const result: DryRunResult = { date: day, firings: times.map((t) => t.at.toISOString()), total: 0, customers: [] };
  if (trigger.type === 'event') result.note = '事件触发的旅程：列出当前符合受众条件的客户，实际入组取决于事件是否发生；分支按“未回复”推演';
  for (const firing of times) {
    const selection = trigger.type === 'date' ? dateSelection(trigger, firing.day) : everyone(firing.occurrence);
    const { total, rows } = await preview(db, template, selection, options.now ?? firing.at, limit - result.customers.length);
    result.total += total;
    for (const row of rows) result.customers.push(await simulate(deps, template, row, firing.at, { quietHours, calendar, timezone: tz }));
  }
  return result;
}

async function simulate(
  deps: { db: Db; gate: ComplianceGate },
  template: SopTemplate,
  row: PreviewRow,
  start: Date,
  ctx: { quietHours: Awaited<ReturnType<typeof getSetting<'outbound.quietHours'>>>; calendar: { holidays: string[]; workdays: string[] }; timezone: string },
): Promise<DryRunEntry> {
  const subject: Subject = {
    enrollmentId: '', templateId: '', versionId: '', occurrence: row.occurrence, status: 'active', startedAt: start,
    customerId: row.customer_id, corpId: row.corp_id, memberUserid: row.userid, externalUserid: row.external_userid,
    name: row.name, gender: row.gender, birthDate: row.birth_date, branchId: row.branch_id, branchName: row.branch_name,
    riskAssessedAt: row.risk_assessed_at, marketingConsent: row.marketing_consent, memberName: row.member_name, relationAlive: Boolean(row.external_userid), context: row.context ?? {},
  };
  const steps: DryRunStep[] = [];
  let t = start;
  let stepId: string | undefined = template.steps[0]?.id;
  const facts = await customerFacts(deps.db, row.customer_id);
  for (let guard = 0; stepId && guard < 60; guard++) {
    const step: SopStep = template.steps.find((s) => s.id === stepId)!;
    const entry: DryRunStep = { stepId: step.id, kind: step.type, at: t.toISOString(), action: ACTIONS[step.type] };
    steps.push(entry);
    let next = nextStepId(template, step.id);
    if (step.when && !(await holds(deps.db, row.customer_id, step.when, t))) {
      entry.action = `${ACTIONS[step.type]}（不满足条件，跳过）`;
      stepId = next;
      continue;
    }
    if (step.type === 'wait') {
      t = waitUntil(step, t, { ...ctx });
      entry.at = t.toISOString();
      entry.action = `等待至 ${t.toISOString()}`;
    } else if (step.type === 'send' || step.type === 'group_send') {
      if (!subject.externalUserid && step.type === 'send') {
        entry.action = '发送消息（客户没有企业微信好友关系，跳过）';
      } else {
        const made = await stepContent(deps.db, step, subject, t, ctx.timezone);
        if (!made.ok) {
          entry.error = made.error;
          steps.push({ stepId: step.id, kind: 'end', at: t.toISOString(), action: '旅程因错误终止' });
          break;
        }
        const decision = await deps.gate.checkMessage({ text: made.content.text, productIds: made.content.productIds, customer: facts, purpose: step.purpose, now: t });
        entry.text = decision.text;
        entry.verdict = decision.verdict;
        entry.findings = decision.findings.map((f) => ({ rule: f.rule, match: f.match }));
        entry.delivery = step.type === 'send' ? (step.via === 'sidebar_task' ? 'sidebar_task' : 'member_confirm') : 'group_confirm';
        if (step.purpose === 'marketing') entry.at = outOfQuietHours(t, ctx.quietHours).toISOString();
        if (decision.verdict === 'block') {
          steps.push({ stepId: step.id, kind: 'end', at: t.toISOString(), action: '旅程因合规拦截终止' });
          break;
        }
      }
    } else if (step.type === 'tag') {
      entry.action = `打标签 +${step.add.join('、') || '无'} -${step.remove.join('、') || '无'}`;
    } else if (step.type === 'task') {
      // As the engine does: no member, no task; a missing variable ends the journey.
      if (!subject.memberUserid) {
        entry.action = '创建任务（客户没有跟进的客户经理，跳过）';
      } else {
        const vars = subjectVariables(subject, t, ctx.timezone);
        const title = renderText(step.title, vars);
        const body = renderText(step.body, vars);
        const failed = !title.ok ? title : !body.ok ? body : undefined;
        if (failed && !failed.ok) {
          entry.error = failed.reason;
          steps.push({ stepId: step.id, kind: 'end', at: t.toISOString(), action: '旅程因错误终止' });
          break;
        }
        entry.action = `创建任务「${title.ok ? title.text : step.title}」，${step.dueIn} 内完成`;
      }
    } else if (step.type === 'notify') {
      entry.action = `提醒${step.to === 'member' ? '客户经理' : '网点负责人'}`;
    } else if (step.type === 'branch') {
      if (step.on === 'condition') {
        const yes = await holds(deps.db, row.customer_id, step.condition!, t);
        next = yes ? step.then : step.else;
        entry.action = `条件${yes ? '成立' : '不成立'} → ${next}`;
      } else {
        t = new Date(t.getTime() + parseDuration(step.within!));
        next = step.else;
        entry.at = t.toISOString();
        entry.action = `${step.within} 内未${step.on === 'reply' ? '回复' : '发生事件'} → ${next}`;
      }
    } else if (step.type === 'end') {
      break;
    }
    stepId = next;
  }
  return { customerId: row.customer_id, name: row.name, memberUserid: row.userid, occurrence: row.occurrence, steps };
}
