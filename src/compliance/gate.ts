import { recordAudit, recordAudits, type AuditEntry } from '../audit/index.js';
import type { Db } from '../platform/db/database.js';
import type { ActorType } from '../platform/db/schema.js';
import { checkMessage, looksLikeMarketing, type CheckInput, type CheckResult } from './check.js';
import { submitForReview } from './reviews.js';
import { compileRuleSet, type CompiledRuleSet } from './rules.js';
import { loadActiveRuleSet, publishRuleSet, type RuleChange } from './store.js';

/**
 * The gate every outbound message passes. It holds the active rule set in memory for `ttlMs`
 * (default 30 s: a version published on another node takes effect here within that time; on the
 * publishing node at once), checks, writes one audit row per decision and queues staff free text
 * that reads like marketing and did not pass.
 *
 * Audit detail never holds the message text (nor a hash of it: a short text's hash can be
 * guessed) and never the customer's facts — only the decision and what explains it: verdict,
 * rule ids found and cleared, rule-set version, products, disclosures appended, suitability and
 * consent outcomes, the text's length. The text itself lives only in the review queue, for the
 * reviewers, and in the outbox row the caller writes.
 */
export interface GateOptions {
  db: Db;
  ttlMs?: number;
  /** Milliseconds now; tests pass a fake clock. */
  clock?: () => number;
}

export interface CheckCaller {
  actorType: ActorType;
  actorId: string | null;
  ip?: string | null;
  requestId?: string | null;
  /** Where the message is going: api, sidebar, mass_send, sop, welcome, auto_reply, ai_draft, … */
  source: string;
  /** The row the decision is about (an outbox row, a material), when there is one. */
  target?: { type: string; id: string };
}

export interface GateDecision extends CheckResult {
  /** Set when the text was queued for review. */
  reviewId?: string;
}

export const DEFAULT_RULES_TTL_MS = 30_000;

export class ComplianceGate {
  private readonly db: Db;
  private readonly ttlMs: number;
  private readonly clock: () => number;
  private cached?: { at: number; rules: Promise<CompiledRuleSet> };

  constructor(options: GateOptions) {
    this.db = options.db;
    this.ttlMs = options.ttlMs ?? DEFAULT_RULES_TTL_MS;
    this.clock = options.clock ?? Date.now;
  }

  /** The active version, compiled; loaded (and seeded on first start) at most once per TTL. */
  rules(): Promise<CompiledRuleSet> {
    const now = this.clock();
    if (!this.cached || now - this.cached.at >= this.ttlMs) {
      const rules = loadActiveRuleSet(this.db).then((v) => compileRuleSet(v.version, v.rules));
      const entry = { at: now, rules };
      this.cached = entry;
      rules.catch(() => {
        if (this.cached === entry) this.cached = undefined; // a failed load is retried by the next call
      });
    }
    return this.cached.rules;
  }

  invalidate(): void {
    this.cached = undefined;
  }

  /** The verdict under the active rules, with nothing recorded (previews). */
  async checkMessage(input: CheckInput): Promise<CheckResult> {
    return checkMessage(input, await this.rules());
  }

  /**
   * Checks and records the decision. With `freeText` (staff wrote it, it is not approved material),
   * a text that reads like marketing and did not pass is queued for review.
   */
  async checkAndRecord(input: CheckInput, caller: CheckCaller, options: { freeText?: boolean; authorId?: string | null } = {}): Promise<GateDecision> {
    const result = checkMessage(input, await this.rules());
    let reviewId: string | undefined;
    if (options.freeText && result.verdict !== 'pass' && looksLikeMarketing(input.text)) {
      const review = await submitForReview(this.db, { text: input.text, authorId: options.authorId ?? caller.actorId, source: caller.source, result });
      reviewId = review.id;
    }
    await recordAudit(this.db, decisionAudit(input, caller, result, reviewId));
    return reviewId ? { ...result, reviewId } : result;
  }

  /**
   * Checks and records many automated messages at once (an SOP round, a mass send's page): the same
   * verdicts as checkAndRecord one by one, the audit rows in one statement. Not for staff free text.
   */
  async checkAndRecordMany(items: readonly { input: CheckInput; caller: CheckCaller }[]): Promise<GateDecision[]> {
    const rules = await this.rules();
    const results = items.map(({ input }) => checkMessage(input, rules));
    await recordAudits(this.db, items.map(({ input, caller }, i) => decisionAudit(input, caller, results[i]!)));
    return results;
  }

  /** Publishes a new version and makes this node use it at once. */
  async publishRules(change: RuleChange, createdBy: string) {
    const published = await publishRuleSet(this.db, change, createdBy);
    this.invalidate();
    return published;
  }
}

/** The audit row of one decision: what was checked, the verdict and the rules that decided it. */
function decisionAudit(input: CheckInput, caller: CheckCaller, result: CheckResult, reviewId?: string): AuditEntry {
  return {
    actorType: caller.actorType,
    actorId: caller.actorId,
    action: 'compliance.check',
    targetType: caller.target?.type ?? (reviewId ? 'compliance_review' : undefined),
    targetId: caller.target?.id ?? reviewId,
    ip: caller.ip ?? null,
    requestId: caller.requestId ?? null,
    outcome: 'success',
    detail: {
      verdict: result.verdict,
      rules: [...new Set(result.findings.map((f) => f.rule))],
      cleared: result.suppressed.map((s) => ({ rule: s.rule, context: s.context })),
      ruleSetVersion: result.ruleSetVersion,
      source: caller.source,
      purpose: result.purpose,
      products: result.products,
      appended: result.appended.length,
      suitability: result.suitability.map((s) => ({ productId: s.productId, ok: s.ok })),
      consent: result.consent,
      textLength: input.text.length,
      ...(reviewId ? { reviewId } : {}),
    },
  };
}
