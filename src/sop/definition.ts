import { z } from 'zod';
import { filterNodeSchema, type FilterNode } from '../filters/index.js';

/**
 * An SOP template as data: one trigger, an audience, exit conditions and a list of steps. Files in
 * `templates/sop/` and the console's step editor both produce this shape; `parseTemplate` (load.ts)
 * turns a YAML or JSON file into it with errors that name the line and the field.
 *
 * Steps run in list order unless a step names its `next` (or a branch its `then` / `else`). A step
 * may only point forward, so every journey ends.
 */
const slug = z.string().regex(/^[a-z0-9][a-z0-9_-]{0,39}$/, 'lowercase letters, digits, - and _, at most 40');
const hhmm = z.string().regex(/^([01]\d|2[0-3]):[0-5]\d$/, 'a time of day HH:MM');
/** 30m, 2h, 3d, 1w. */
export const durationSchema = z.string().regex(/^[1-9]\d{0,4}[mhdw]$/, 'a duration such as 30m, 2h, 3d or 1w');
const filter = filterNodeSchema as z.ZodType<FilterNode>;

/** The variables a message may use; anything else in braces is rejected when the template is checked. */
export const VARIABLES = {
  称呼: '客户姓氏加先生/女士，如「王先生」',
  姓名: '客户姓名',
  客户经理: '跟进客户经理姓名',
  网点: '客户所属网点',
  产品名称: '触发旅程的产品名称（理财到期）',
  到期日: '触发旅程的产品到期日，如「2026年12月13日」',
  生日: '客户生日，如「12月13日」',
  测评到期日: '风险测评到期日',
  今天: '当天日期',
} as const;
export type VariableName = keyof typeof VARIABLES;

export const EVENT_TRIGGERS = ['contact_added', 'tag_added', 'tag_removed', 'attribute_changed', 'message_received', 'card_visited'] as const;
export const DATE_TRIGGERS = ['birthday', 'product_maturity', 'risk_assessment_expiry', 'no_contact', 'payday'] as const;
/** Customer attributes an attribute_changed trigger may watch. */
export const WATCHED_ATTRIBUTES = ['aum_tier', 'risk_level', 'aum', 'marketing_consent', 'branch_id'] as const;

const eventTrigger = z
  .object({
    type: z.literal('event'),
    event: z.enum(EVENT_TRIGGERS),
    /** contact_added: the channel state; a trailing * matches a prefix (card-*). */
    channel: z.string().min(1).max(31).optional(),
    /** tag_added / tag_removed: a tag name (or group:name). */
    tag: z.string().min(1).max(60).optional(),
    /** attribute_changed: which attribute, and optionally from which value to which. */
    attribute: z.enum(WATCHED_ATTRIBUTES).optional(),
    from: z.union([z.string(), z.number(), z.boolean()]).optional(),
    to: z.union([z.string(), z.number(), z.boolean()]).optional(),
    /** message_received: the detected intent (意向 tag name without the prefix), or a keyword. */
    intent: z.string().min(1).max(30).optional(),
    keyword: z.string().min(1).max(30).optional(),
  })
  .strict()
  .superRefine((t, ctx) => {
    if ((t.event === 'tag_added' || t.event === 'tag_removed') && !t.tag) ctx.addIssue({ code: 'custom', path: ['tag'], message: `${t.event} needs a tag` });
    if (t.event === 'attribute_changed' && !t.attribute) ctx.addIssue({ code: 'custom', path: ['attribute'], message: 'attribute_changed needs an attribute' });
  });

const dateTrigger = z
  .object({
    type: z.literal('date'),
    date: z.enum(DATE_TRIGGERS),
    /** Days before the date (product maturity 7 = seven days before it matures); 0 = on the day. */
    daysBefore: z.number().int().min(0).max(365).default(0),
    /** no_contact: how many days without contact. */
    days: z.number().int().min(1).max(3650).optional(),
    /** payday: the day of the month salaries arrive. */
    dayOfMonth: z.number().int().min(1).max(28).optional(),
    /** When the daily scan enrols customers. */
    at: hhmm.default('09:00'),
    timezone: z.string().default('Asia/Shanghai'),
  })
  .strict()
  .superRefine((t, ctx) => {
    if (t.date === 'no_contact' && !t.days) ctx.addIssue({ code: 'custom', path: ['days'], message: 'no_contact needs days' });
    if (t.date === 'payday' && !t.dayOfMonth) ctx.addIssue({ code: 'custom', path: ['dayOfMonth'], message: 'payday needs dayOfMonth' });
  });

const scheduleTrigger = z
  .object({
    type: z.literal('schedule'),
    /** Five-field cron: minute hour day-of-month month day-of-week. */
    cron: z.string().regex(/^\S+ \S+ \S+ \S+ \S+$/, 'a five-field cron expression'),
    timezone: z.string().default('Asia/Shanghai'),
  })
  .strict();

export const triggerSchema = z.discriminatedUnion('type', [eventTrigger, dateTrigger, scheduleTrigger]);

const messageFields = {
  text: z.string().min(1).max(2000).optional(),
  /** An approved material's id: its text, attachment and products are sent. */
  material: z.string().uuid().optional(),
  /** Products the message is about: disclosures and suitability are checked for each. */
  products: z.array(z.string().min(1)).max(10).default([]),
};

const base = {
  id: slug,
  name: z.string().min(1).max(60).optional(),
  /** The step runs only for customers this filter selects at that moment; others skip it. */
  when: filter.optional(),
  next: slug.optional(),
};

export const DELIVERIES = ['member_confirm', 'sidebar_task', 'bot', 'kf'] as const;
export type Delivery = (typeof DELIVERIES)[number];

const waitStep = z
  .object({
    ...base,
    type: z.literal('wait'),
    duration: durationSchema.optional(),
    /** Then on until this time of day (the next one after the duration). */
    until: hhmm.optional(),
    /** Then on to a working day (Monday to Friday, not a listed holiday). */
    workingDay: z.boolean().default(false),
  })
  .strict()
  .refine((s) => s.duration || s.until || s.workingDay, { message: 'a wait needs a duration, a time of day or workingDay' });

const sendStep = z
  .object({
    ...base,
    type: z.literal('send'),
    /**
     * member_confirm: add_msg_template (chat_type single, sender = the member), the member confirms in WeCom;
     * sidebar_task: a task carrying the prepared text that the member sends from the sidebar;
     * bot / kf: through the customer's bot or customer-service chat, falling back to member_confirm.
     */
    via: z.enum(DELIVERIES).default('member_confirm'),
    purpose: z.enum(['marketing', 'service']).default('marketing'),
    ...messageFields,
  })
  .strict()
  .refine((s) => s.text || s.material, { message: 'a send needs text or a material' });

const groupSendStep = z
  .object({
    ...base,
    type: z.literal('group_send'),
    purpose: z.enum(['marketing', 'service']).default('marketing'),
    /** Only the member's groups whose name contains this. */
    groupName: z.string().min(1).max(30).optional(),
    ...messageFields,
  })
  .strict()
  .refine((s) => s.text || s.material, { message: 'a group send needs text or a material' });

const tagStep = z
  .object({ ...base, type: z.literal('tag'), add: z.array(z.string().min(1)).max(20).default([]), remove: z.array(z.string().min(1)).max(20).default([]) })
  .strict()
  .refine((s) => s.add.length + s.remove.length > 0, { message: 'a tag step needs add or remove' });

const taskStep = z
  .object({ ...base, type: z.literal('task'), title: z.string().min(1).max(60), body: z.string().max(1000).default(''), dueIn: durationSchema.default('1d') })
  .strict();

const notifyStep = z
  .object({ ...base, type: z.literal('notify'), to: z.enum(['member', 'branch_manager']).default('member'), text: z.string().min(1).max(1000) })
  .strict();

const branchStep = z
  .object({
    ...base,
    type: z.literal('branch'),
    /** reply: the customer wrote within `within`; condition: the filter holds now; event: the event happened within `within`. */
    on: z.enum(['reply', 'condition', 'event']),
    within: durationSchema.optional(),
    condition: filter.optional(),
    event: z.enum(EVENT_TRIGGERS).optional(),
    then: slug,
    else: slug,
  })
  .strict()
  .superRefine((s, ctx) => {
    if (s.on !== 'condition' && !s.within) ctx.addIssue({ code: 'custom', path: ['within'], message: `branch on ${s.on} needs within` });
    if (s.on === 'condition' && !s.condition) ctx.addIssue({ code: 'custom', path: ['condition'], message: 'branch on condition needs a condition' });
    if (s.on === 'event' && !s.event) ctx.addIssue({ code: 'custom', path: ['event'], message: 'branch on event needs an event' });
  });

const endStep = z.object({ ...base, type: z.literal('end'), outcome: z.enum(['completed', 'converted']).default('completed') }).strict();

// Discriminated by `type`, so a bad step is reported against its own kind ("steps.2.text: ...") rather than
// as one "invalid input" with the failures of all eight kinds.
export const stepSchema = z.discriminatedUnion('type', [waitStep, sendStep, groupSendStep, tagStep, taskStep, notifyStep, branchStep, endStep]);
export const STEP_KINDS = ['wait', 'send', 'group_send', 'tag', 'task', 'notify', 'branch', 'end'] as const;
export type StepKind = (typeof STEP_KINDS)[number];

export const exitSchema = z
  .object({
    /** The customer withdrew marketing consent. */
    unsubscribed: z.boolean().default(true),
    /** The customer deleted the member, or the member the customer. */
    deleted: z.boolean().default(true),
    /** The journey's goal: when this filter selects the customer, the journey ends as converted. */
    converted: filter.optional(),
    /** The customer enrolled in one of these journeys (template keys), or any other with 'any'. */
    joined: z.union([z.literal('any'), z.array(slug).min(1)]).optional(),
  })
  .strict();

export const templateSchema = z
  .object({
    key: slug,
    name: z.string().min(1).max(60),
    description: z.string().max(500).default(''),
    trigger: triggerSchema,
    audience: filter.optional(),
    exit: exitSchema.default({ unsubscribed: true, deleted: true }),
    /** Whether a customer may enter again: never, or once per occurrence (a birthday a year, a maturity per date). */
    reenter: z.enum(['never', 'per_occurrence']).optional(),
    steps: z.array(stepSchema).min(1).max(50),
  })
  .strict()
  .superRefine((t, ctx) => {
    const ids = new Map<string, number>();
    t.steps.forEach((s, i) => {
      if (ids.has(s.id)) ctx.addIssue({ code: 'custom', path: ['steps', i, 'id'], message: `duplicate step id ${s.id}` });
      ids.set(s.id, i);
    });
    t.steps.forEach((s, i) => {
      const targets: [string, string | undefined][] = [['next', s.next]];
      if (s.type === 'branch') targets.push(['then', s.then], ['else', s.else]);
      for (const [field, target] of targets) {
        if (!target) continue;
        const at = ids.get(target);
        if (at === undefined) ctx.addIssue({ code: 'custom', path: ['steps', i, field], message: `no step ${target}` });
        else if (at <= i) ctx.addIssue({ code: 'custom', path: ['steps', i, field], message: `${target} is not after ${s.id}: steps only point forward` });
      }
      // Task titles and bodies are rendered like messages, so they are checked too.
      const texts: [string, string | undefined][] =
        s.type === 'task' ? [['title', s.title], ['body', s.body]] : s.type === 'send' || s.type === 'group_send' || s.type === 'notify' ? [['text', s.text]] : [];
      for (const [field, text] of texts) {
        if (!text) continue;
        for (const name of unknownVariables(text)) ctx.addIssue({ code: 'custom', path: ['steps', i, field], message: `unknown variable {${name}}` });
        // One group message is rendered once and read by everyone in the group: a customer's own values would leak.
        if (s.type !== 'group_send') continue;
        for (const name of variablesIn(text).filter((n) => !GROUP_VARIABLES.includes(n))) {
          ctx.addIssue({ code: 'custom', path: ['steps', i, field], message: `{${name}} is one customer's value; a group send may use only ${GROUP_VARIABLES.map((v) => `{${v}}`).join(', ')}` });
        }
      }
    });
  });

export type SopTemplate = z.output<typeof templateSchema>;
export type SopTrigger = z.output<typeof triggerSchema>;
export type SopStep = z.output<typeof stepSchema>;
export type StepOf<K extends StepKind> = Extract<SopStep, { type: K }>;

const VARIABLE = /\{([^{}\s]{1,10})\}/g;
const isVariable = (name: string): name is VariableName => Object.prototype.hasOwnProperty.call(VARIABLES, name);
/** Names in braces that are not variables (a message's own braces of other lengths are left alone). */
export function unknownVariables(text: string): string[] {
  return [...text.matchAll(VARIABLE)].map((m) => m[1]!).filter((name) => !isVariable(name));
}
const variablesIn = (text: string): VariableName[] => [...text.matchAll(VARIABLE)].map((m) => m[1]!).filter(isVariable);
/** The variables a group send may use: the same for everyone in the group. */
export const GROUP_VARIABLES: readonly VariableName[] = ['客户经理', '今天'];

/** The step that follows `index` when it does not name one; undefined after the last step. */
export function nextStepId(template: SopTemplate, stepId: string): string | undefined {
  const index = template.steps.findIndex((s) => s.id === stepId);
  const step = template.steps[index];
  if (!step) return undefined;
  return step.next ?? template.steps[index + 1]?.id;
}

/** Whether the trigger enrols a customer again for each new occurrence unless told otherwise. */
export function reentersPerOccurrence(template: SopTemplate): boolean {
  return (template.reenter ?? (template.trigger.type === 'event' ? 'never' : 'per_occurrence')) === 'per_occurrence';
}
