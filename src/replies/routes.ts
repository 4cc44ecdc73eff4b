import { z } from 'zod';
import { auditBy, recordAudit } from '../audit/index.js';
import { can, rolesFor } from '../auth/index.js';
import { mask } from '../platform/crypto.js';
import type { Db } from '../platform/db/database.js';
import type { Api } from '../platform/http/api.js';
import { detectIntents, INTENT_NAMES } from './intents.js';
import { activeAt, checkRuleId, createRule, deleteRule, listRules, ruleInputSchema, ruleMatches, updateRule } from './rules.js';

const TAG = 'replies';
const MANAGE = rolesFor('sop.manage');
const READ = [...new Set([...MANAGE, 'compliance', 'branch_manager'] as const)];

export function registerReplyRoutes(api: Api, deps: { db: Db }): void {
  const { db } = deps;
  const idParams = z.object({ id: z.string().max(60) });
  const audit = (input: { actor: unknown; ctx: { ip: string; state: { requestId: string } } }, action: string, targetId: string) =>
    recordAudit(db, auditBy(input.actor as Parameters<typeof auditBy>[0], { ip: input.ctx.ip, requestId: input.ctx.state.requestId })(action, { targetType: 'reply_rule', targetId, outcome: 'success' }));

  api.route({
    method: 'get', path: '/replies/rules', summary: 'auto-reply rules in priority order, and the intent names an intent rule may use', tag: TAG, auth: READ,
    handler: async () => ({ rules: await listRules(db), intents: INTENT_NAMES }),
  });

  api.route({
    method: 'post', path: '/replies/rules', summary: 'create an auto-reply rule (audited)', tag: TAG, auth: MANAGE, body: ruleInputSchema, status: 201,
    handler: async (input) => {
      const rule = await createRule(db, input.body, input.actor!.id);
      await audit(input, 'replies.rule.create', rule.id);
      return rule;
    },
  });

  api.route({
    method: 'put', path: '/replies/rules/:id', summary: 'replace an auto-reply rule (audited)', tag: TAG, auth: MANAGE, params: idParams, body: ruleInputSchema,
    handler: async (input) => {
      const rule = await updateRule(db, checkRuleId(input.params.id), input.body);
      await audit(input, 'replies.rule.update', rule.id);
      return rule;
    },
  });

  api.route({
    method: 'delete', path: '/replies/rules/:id', summary: 'delete an auto-reply rule (audited)', tag: TAG, auth: MANAGE, params: idParams,
    handler: async (input) => {
      await deleteRule(db, checkRuleId(input.params.id));
      await audit(input, 'replies.rule.delete', input.params.id);
      return undefined;
    },
  });

  api.route({
    method: 'post', path: '/replies/rules/test', summary: 'which rule would answer a message now, and the intents found in it; sends nothing', tag: TAG, auth: READ,
    body: z.object({ text: z.string().min(1).max(2000), channel: z.enum(['bot', 'kf']).default('kf') }),
    handler: async ({ body }) => {
      const intents = detectIntents(body.text);
      const now = new Date();
      const rule = (await listRules(db)).find((r) => r.enabled && (!r.channels.length || r.channels.includes(body.channel)) && activeAt(r, now) && ruleMatches(r, body.text, intents.map((i) => i.intent)));
      return { rule: rule ?? null, intents };
    },
  });

  api.route({
    method: 'get', path: '/replies/log', summary: 'customer messages and what the engine decided, newest first', tag: TAG, auth: READ,
    query: z.object({ decision: z.enum(['rule', 'kb', 'ai', 'handoff', 'ignored', 'none']).optional(), limit: z.coerce.number().int().min(1).max(200).default(50) }),
    handler: async ({ query, actor }) => {
      let q = db
        .selectFrom('reply_log as l')
        .leftJoin('customers as c', 'c.id', 'l.customer_id')
        .select(['l.id', 'l.channel', 'l.text', 'l.intents', 'l.decision', 'l.reason', 'l.kb_id', 'l.rule_id', 'l.outbox_id', 'l.member_userid', 'l.received_at', 'c.name as customer_name'])
        .orderBy('l.received_at', 'desc')
        .limit(query.limit);
      if (query.decision) q = q.where('l.decision', '=', query.decision);
      const reveal = can(actor!.role, 'customers.reveal');
      return { messages: (await q.execute()).map(({ customer_name, ...r }) => ({ ...r, customerName: customer_name && !reveal ? mask.name(customer_name) : customer_name })) };
    },
  });
}
