import { z } from 'zod';
import { addTimeline } from '../customers/index.js';
import type { Db } from '../platform/db/database.js';
import type { CustomerContext } from './customer.js';
import type { ToolCall, ToolSpec } from './llm.js';
import { PRODUCT_FACTS, TYPE_LABELS } from './products.js';
import { chinaDate } from './prompts.js';

/**
 * The tools the model may call while answering a customer, as a registry: each has its
 * declaration (sent to the model), a zod schema its arguments must pass, and what it does. A name
 * outside the registry, or arguments that fail their schema, get an error result the model reads;
 * nothing is dispatched on an unchecked name.
 */
export interface ToolContext {
  db: Db;
  customer: CustomerContext | null;
  corpId: string | null;
  externalUserid: string | null;
  auditId: string;
  now: Date;
}

export interface ToolOutcome {
  /** What the model reads back. */
  result: string;
  ok: boolean;
  /** Set by `handoff`: the conversation goes to a person, with this reason. */
  handoff?: string;
  /** Set by `book_appointment`. */
  appointmentId?: string;
}

export interface ToolCallRecord {
  name: string;
  arguments: unknown;
  ok: boolean;
  result: string;
}

/** How far ahead a customer may book, in days. */
export const BOOKING_HORIZON_DAYS = 60;

interface Tool<S extends z.ZodType> {
  description: string;
  parameters: Record<string, unknown>;
  schema: S;
  run(args: z.output<S>, ctx: ToolContext): Promise<ToolOutcome>;
}

const define = <S extends z.ZodType>(tool: Tool<S>) => tool;

const TOOLS = {
  my_products: define({
    description: '查询当前客户自己在本行持有的产品（仅名称与类别，不含金额）。仅在客户询问自己持有的产品时调用。',
    parameters: { type: 'object', properties: {}, additionalProperties: false },
    schema: z.object({}).passthrough(),
    async run(_args, ctx) {
      if (!ctx.customer) return { ok: false, result: '无法确认客户身份，不能查询持有产品。请建议客户联系客户经理或登录手机银行查看。' };
      // Holdings are the customer's financial information: only with their consent (PIPL; see ../shared/compliance/RULES.md).
      if (!ctx.customer.marketingConsent) {
        return { ok: false, result: '客户未授权使用其账户信息，不能查询持有产品。请告诉客户可登录手机银行查看，或由客户经理协助。' };
      }
      const held = [...new Set(ctx.customer.products)].map((id) => PRODUCT_FACTS.get(id)).filter((p) => p !== undefined);
      if (!held.length) return { ok: true, result: '客户目前没有在本行持有目录中的产品。' };
      return { ok: true, result: `客户持有：${held.map((p) => `${p.name}（${TYPE_LABELS[p.type] ?? p.type}）`).join('、')}。` };
    },
  }),
  book_appointment: define({
    description: '为客户预约到网点办理业务。branchId 取自【网点】列表，date 为 YYYY-MM-DD（今天起60天内），purpose 为办理事项。',
    parameters: {
      type: 'object',
      properties: {
        branchId: { type: 'string', description: '网点编号，如 br-hz-xihu' },
        date: { type: 'string', description: '预约日期 YYYY-MM-DD' },
        purpose: { type: 'string', description: '办理事项，如 大额取现、开户' },
      },
      required: ['branchId', 'date', 'purpose'],
      additionalProperties: false,
    },
    schema: z.object({
      branchId: z.string().min(1).max(40),
      date: z.iso.date(),
      purpose: z.string().trim().min(1).max(100),
    }),
    async run(args, ctx) {
      if (!ctx.customer && !(ctx.corpId && ctx.externalUserid)) return { ok: false, result: '无法确认客户身份，不能预约。请转人工。' };
      const branch = await ctx.db.selectFrom('branches').select(['id', 'name']).where('id', '=', args.branchId).executeTakeFirst();
      if (!branch) return { ok: false, result: `没有编号为 ${args.branchId} 的网点，请从【网点】列表中选择。` };
      const today = chinaDate(ctx.now);
      const last = chinaDate(new Date(ctx.now.getTime() + BOOKING_HORIZON_DAYS * 86_400_000));
      if (args.date < today || args.date > last) return { ok: false, result: `只能预约 ${today} 至 ${last} 之间的日期。` };
      const inserted = await ctx.db
        .insertInto('appointments')
        .values({
          customer_id: ctx.customer?.id ?? null, corp_id: ctx.corpId, external_userid: ctx.externalUserid,
          branch_id: branch.id, date: args.date, purpose: args.purpose, source: 'assistant', audit_id: ctx.auditId,
        })
        .onConflict((oc) => oc.columns(['audit_id', 'branch_id', 'date']).where('audit_id', 'is not', null).doNothing())
        .returning('id')
        .executeTakeFirst();
      const result = `已预约：${branch.name}，${args.date}，办理事项：${args.purpose}。请提醒客户携带本人有效身份证件，网点工作人员会与客户确认具体时间。`;
      if (!inserted) return { ok: true, result }; // the same booking, asked for twice in one task
      await addTimeline(ctx.db, {
        customerId: ctx.customer?.id ?? null,
        corpId: ctx.corpId,
        externalUserid: ctx.externalUserid,
        kind: 'appointment_booked',
        summary: `通过AI助手预约${branch.name}（${args.date}，${args.purpose}）`,
        detail: { appointmentId: inserted.id, branchId: branch.id, date: args.date, purpose: args.purpose, auditId: ctx.auditId },
        cause: { type: 'customer', id: ctx.externalUserid ?? ctx.customer!.id },
      });
      return { ok: true, result, appointmentId: inserted.id };
    },
  }),
  handoff: define({
    description: '把对话转给人工客户经理。用于投诉、疑似诈骗、交易争议或盗刷、账户冻结、客户要求人工，或你无法可靠回答时。',
    parameters: {
      type: 'object',
      properties: { reason: { type: 'string', description: '转人工的原因' } },
      required: ['reason'],
      additionalProperties: false,
    },
    schema: z.object({ reason: z.string().trim().min(1).max(200) }),
    async run(args) {
      return { ok: true, result: '已转人工。', handoff: args.reason };
    },
  }),
};

export type ToolName = keyof typeof TOOLS;
const isToolName = (name: string): name is ToolName => Object.hasOwn(TOOLS, name);

export const TOOL_SPECS: ToolSpec[] = (Object.keys(TOOLS) as ToolName[]).map((name) => ({
  type: 'function',
  function: { name, description: TOOLS[name].description, parameters: TOOLS[name].parameters },
}));

export async function runTool(call: ToolCall, ctx: ToolContext): Promise<{ record: ToolCallRecord; outcome: ToolOutcome }> {
  let args: unknown;
  try {
    args = call.arguments.trim() ? JSON.parse(call.arguments) : {};
  } catch {
    const outcome = { ok: false, result: '参数不是合法的 JSON。' };
    return { record: { name: call.name, arguments: call.arguments, ...outcome }, outcome };
  }
  if (!isToolName(call.name)) {
    const outcome = { ok: false, result: `没有名为 ${call.name} 的工具。` };
    return { record: { name: call.name, arguments: args, ...outcome }, outcome };
  }
  const tool = TOOLS[call.name] as Tool<z.ZodType>;
  const parsed = tool.schema.safeParse(args);
  if (!parsed.success) {
    const outcome = { ok: false, result: `参数不正确：${parsed.error.issues.map((i) => `${i.path.join('.') || '(参数)'} ${i.message}`).join('；')}` };
    return { record: { name: call.name, arguments: args, ...outcome }, outcome };
  }
  const outcome = await tool.run(parsed.data, ctx);
  return { record: { name: call.name, arguments: parsed.data, ok: outcome.ok, result: outcome.result }, outcome };
}
