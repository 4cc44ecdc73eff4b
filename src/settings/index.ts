import { sql } from 'kysely';
import { z } from 'zod';
import type { Db } from '../platform/db/database.js';
import { conflict, invalid, notFound, type FieldIssue } from '../platform/errors.js';

/**
 * Runtime settings that operations or compliance staff change without a deploy (quiet hours,
 * quotas, thresholds). Each key has a schema and a default here; the table keeps changed values
 * with a version. Later modules add their keys to this registry.
 */
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'HH:MM');
const isoDate = z
  .string()
  .regex(/^\d{4}-\d{2}-\d{2}$/, 'YYYY-MM-DD')
  .refine((d) => {
    const t = Date.parse(`${d}T00:00:00Z`);
    return !Number.isNaN(t) && new Date(t).toISOString().slice(0, 10) === d;
  }, 'not a calendar date');

/** An IANA time zone this runtime knows (Asia/Shanghai, UTC, ...). */
const timeZone = z.string().refine((tz) => {
  try {
    new Intl.DateTimeFormat('en', { timeZone: tz });
    return true;
  } catch {
    return false;
  }
}, 'unknown time zone');

export const SETTINGS = {
  'outbound.quietHours': {
    description: '免打扰时段：此时段内不向客户发送自动消息',
    schema: z.object({ start: hhmm, end: hhmm, timezone: timeZone.default('Asia/Shanghai') }),
    default: { start: '21:00', end: '08:00', timezone: 'Asia/Shanghai' },
  },
  'outbound.customerQuota': {
    description: '每位客户接收企业群发的上限（按企业微信后台的设置：每天、每周或每月）',
    schema: z.object({ period: z.enum(['day', 'week', 'month']), limit: z.number().int().min(1).max(100) }),
    default: { period: 'month', limit: 4 },
  },
  'customers.aumTiers': {
    description: 'AUM 分层阈值（元）：潜力、财富、私行的下限',
    schema: z
      .object({ potential: z.number().min(0), wealth: z.number().min(0), private: z.number().min(0) })
      // Named at the threshold that is out of order, so a form can show it there.
      .superRefine((t, ctx) => {
        if (t.wealth <= t.potential) ctx.addIssue({ code: 'custom', path: ['wealth'], message: 'thresholds must increase: must be above potential' });
        if (t.private <= t.wealth) ctx.addIssue({ code: 'custom', path: ['private'], message: 'thresholds must increase: must be above wealth' });
      }),
    default: { potential: 50_000, wealth: 500_000, private: 6_000_000 },
  },
  'replies.thresholds': {
    description: '自动回复阈值：知识库答案的最低匹配分（0–1），以及消息意向打标签的最低分（0–1）',
    schema: z.object({ kbMinScore: z.number().min(0).max(1), intentThreshold: z.number().min(0).max(1) }),
    default: { kbMinScore: 0.4, intentThreshold: 0.8 },
  },
  'wecom.welcomeText': {
    description: '默认欢迎语：渠道活码未设置欢迎语时发送；{客户经理} 会替换为客户经理姓名',
    schema: z.object({ text: z.string().min(1).max(1000) }),
    default: { text: '您好，我是星河银行客户经理{客户经理}，很高兴为您服务。如需帮助，直接在这里留言即可。' },
  },
  'sop.workingCalendar': {
    description: '工作日历：法定节假日与调休上班日（用于“下一个工作日”）',
    schema: z
      .object({ holidays: z.array(isoDate).max(500), workdays: z.array(isoDate).max(200) })
      .superRefine((c, ctx) => {
        const holidays = new Set(c.holidays);
        c.workdays.forEach((d, i) => {
          if (holidays.has(d)) ctx.addIssue({ code: 'custom', path: ['workdays', i], message: 'a date cannot be both a holiday and a workday' });
        });
      }),
    // The State Council's notice for 2026 (国办发明电, 4 November 2025); every day of each block is listed,
    // weekends included. 2027 元旦 is assumed to be 1–3 January until that year's notice is published:
    // operations staff maintain this list each year.
    default: {
      holidays: [
        '2026-01-01', '2026-01-02', '2026-01-03', // 元旦
        '2026-02-15', '2026-02-16', '2026-02-17', '2026-02-18', '2026-02-19', '2026-02-20', '2026-02-21', '2026-02-22', '2026-02-23', // 春节
        '2026-04-04', '2026-04-05', '2026-04-06', // 清明
        '2026-05-01', '2026-05-02', '2026-05-03', '2026-05-04', '2026-05-05', // 劳动节
        '2026-06-19', '2026-06-20', '2026-06-21', // 端午
        '2026-09-25', '2026-09-26', '2026-09-27', // 中秋
        '2026-10-01', '2026-10-02', '2026-10-03', '2026-10-04', '2026-10-05', '2026-10-06', '2026-10-07', // 国庆
        '2027-01-01', '2027-01-02', '2027-01-03', // 2027 元旦
      ],
      workdays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
    },
  },
} as const;

export type SettingKey = keyof typeof SETTINGS;
export type SettingValue<K extends SettingKey> = z.output<(typeof SETTINGS)[K]['schema']>;

export const isSettingKey = (key: string): key is SettingKey => Object.prototype.hasOwnProperty.call(SETTINGS, key);

export async function getSetting<K extends SettingKey>(db: Db, key: K): Promise<SettingValue<K>> {
  const row = await db.selectFrom('settings').select('value').where('key', '=', key).executeTakeFirst();
  return (row ? SETTINGS[key].schema.parse(row.value) : SETTINGS[key].default) as SettingValue<K>;
}

export async function listSettings(db: Db) {
  const rows = await db
    .selectFrom('settings')
    .leftJoin('staff', 'staff.id', 'settings.updated_by')
    .select(['settings.key', 'settings.value', 'settings.version', 'settings.updated_at', 'settings.updated_by', 'staff.display_name'])
    .execute();
  const byKey = new Map(rows.map((r) => [r.key, r]));
  return (Object.keys(SETTINGS) as SettingKey[]).map((key) => {
    const row = byKey.get(key);
    return {
      key,
      description: SETTINGS[key].description,
      value: row?.value ?? SETTINGS[key].default,
      default: SETTINGS[key].default,
      version: row?.version ?? 0,
      updatedAt: row?.updated_at ?? null,
      updatedBy: row?.updated_by ? { id: row.updated_by, displayName: row.display_name ?? null } : null,
    };
  });
}

/**
 * The versions of a setting, newest first, from the audit log (every change is audited with its
 * value before and after): who, when, from what to what.
 */
export async function settingHistory(db: Db, key: string, limit = 50) {
  if (!isSettingKey(key)) throw notFound(`setting ${key}`);
  const rows = await db
    .selectFrom('audit_log as a')
    .leftJoin('staff as s', (j) => j.on((eb) => eb('a.actor_type', '=', 'staff').and(eb.cast(eb.ref('s.id'), 'text'), '=', eb.ref('a.actor_id'))))
    .select(['a.id', 'a.at', 'a.actor_id', 'a.detail', 's.display_name'])
    .where('a.action', '=', 'settings.update')
    .where('a.target_type', '=', 'setting')
    .where('a.target_id', '=', key)
    .orderBy('a.id', 'desc')
    .limit(limit)
    .execute();
  return rows.map((r) => {
    const detail = r.detail as { before?: unknown; after?: unknown; version?: number };
    return {
      version: detail.version ?? null,
      at: r.at,
      actor: r.actor_id ? { id: r.actor_id, displayName: r.display_name ?? null } : null,
      before: detail.before ?? null,
      after: detail.after ?? null,
    };
  });
}

const issuesOf = (error: z.ZodError): FieldIssue[] => error.issues.map((i) => ({ path: ['body', 'value', ...i.path.map(String)].join('.'), message: i.message }));

/** The problems of a value for a key, as a change would report them (none: it would be stored). */
export function checkSetting(key: string, value: unknown): FieldIssue[] {
  if (!isSettingKey(key)) throw notFound(`setting ${key}`);
  const parsed = (SETTINGS[key].schema as z.ZodType).safeParse(value);
  return parsed.success ? [] : issuesOf(parsed.error);
}

/**
 * Validates and stores a new value; returns the previous value and the new version. With
 * `expectedVersion`, a setting changed by someone else since that version is a conflict.
 */
export async function updateSetting(db: Db, key: string, value: unknown, staffId: string, expectedVersion?: number) {
  if (!isSettingKey(key)) throw notFound(`setting ${key}`);
  const parsed = (SETTINGS[key].schema as z.ZodType).safeParse(value);
  if (!parsed.success) throw invalid(`invalid value for ${key}`, issuesOf(parsed.error));
  return db.transaction().execute(async (trx) => {
    // A lock per key rather than on the row: the first change of a key has no row to lock yet.
    await sql`SELECT pg_advisory_xact_lock(hashtext(${`settings:${key}`}))`.execute(trx);
    const before = await trx.selectFrom('settings').select(['value', 'version']).where('key', '=', key).executeTakeFirst();
    if (expectedVersion !== undefined && (before?.version ?? 0) !== expectedVersion) {
      throw conflict(`setting ${key} was changed meanwhile: version ${before?.version ?? 0}, not ${expectedVersion}`);
    }
    const json = JSON.stringify(parsed.data);
    const row = await trx
      .insertInto('settings')
      .values({ key, value: json, updated_by: staffId })
      .onConflict((oc) => oc.column('key').doUpdateSet((eb) => ({ value: json, updated_by: staffId, updated_at: new Date(), version: eb('settings.version', '+', 1) })))
      .returning(['version'])
      .executeTakeFirstOrThrow();
    return { before: before?.value ?? SETTINGS[key].default, after: parsed.data as unknown, version: row.version };
  });
}
