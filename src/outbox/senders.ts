import type { SecretKind, WeComGateway } from '../wecom/client/index.js';
import type { CorpSecrets } from '../wecom/corps.js';
import type { Logger } from '../platform/logger.js';

/**
 * How each channel leaves: a Sender builds the provider call for a batch of rows and says what
 * WeCom answered, and settles a batch whose outcome is unknown (the dispatcher died or the call
 * timed out). The dispatcher holds a registry of them (`Map<channel, Sender>`); channels without
 * a sender (welcome, sidebar, and bot / kf until their senders are registered) are never claimed.
 */
export interface BatchRow {
  id: string;
  recipient: string;
  payload: Record<string, unknown>;
  attempts: number;
  customerId: string | null;
}

export interface Batch {
  id: string;
  corpId: string;
  channel: string;
  sender: string | null;
  /** When the first attempt was claimed (database clock). */
  claimedAt: Date;
  rows: BatchRow[];
}

/** What WeCom accepted: the task or message id, and the recipients it refused (fail_list, invaliduser). */
export interface SendResult {
  msgid: string | null;
  rejected: Map<string, { errcode: number; reason: string }>;
}

export type Resolution =
  /** WeCom holds the call's task: the batch was sent, to these recipients (the others were refused). */
  | { kind: 'found'; msgid: string; targets: Set<string>; sentAt: Date | null }
  /** WeCom holds nothing from this call (and, past the lease, never will): the rows may go again. */
  | { kind: 'released'; reason: string }
  /** Sending again is harmless (WeCom drops the duplicate): the dispatcher sends the batch again now. */
  | { kind: 'resend' }
  /** Neither can be known nor is a resend safe: the rows fail rather than risk a duplicate. */
  | { kind: 'abandoned'; reason: string }
  /** Not decidable now (WeCom busy, still dispatching): asked again after another lease. */
  | { kind: 'undecided'; reason: string };

export interface SendContext {
  gateway: WeComGateway;
  corp: CorpSecrets;
  /** Epoch ms after which no attempt may start (CallOptions.notAfter), derived from the lease. */
  notAfter: number;
  logger: Logger;
}

export interface ResolveContext {
  gateway: WeComGateway;
  corp: CorpSecrets;
  /** WeCom msgids already recorded for other batches of this corp (never matched twice). */
  knownMsgids(msgids: string[]): Promise<Set<string>>;
  /** The database clock now. */
  now: Date;
  logger: Logger;
}

export interface Sender {
  channel: string;
  /** The WeCom API the call spends budget on, and the secret it uses. */
  api: string;
  secret: SecretKind;
  /** Most recipients one call may carry (WeCom's limit; the dispatcher's batch max may be lower). */
  maxRecipients: number;
  /** Customer-facing and proactive: quiet hours and marketing consent apply at claim time. */
  customerFacing: boolean;
  /** Counts against the customer's receiving quota for corp mass messages. */
  receivingQuota: boolean;
  /** WeCom drops app messages over a per-member rate: the dispatcher paces rows per recipient. */
  perRecipientRate: boolean;
  /**
   * A conversation (微信客服 replies): a recipient's messages leave one at a time, oldest first (by created_at, then
   * id). A row waits while an older row of the same corp, channel and recipient is on its way or still pending
   * (retrying, deferred, locked), so a retried reply is never overtaken by the next one.
   */
  ordered?: boolean;
  /** Makes the call, once (idempotent: false); throws WeCom's typed errors. */
  send(batch: Batch, ctx: SendContext): Promise<SendResult>;
  /** Settles in-doubt batches of one corp, each by id. */
  resolve(batches: Batch[], ctx: ResolveContext): Promise<Map<string, Resolution>>;
}

/** The content every row of a batch shares (rows are grouped by content, so the first row speaks for all). */
export function contentOf(batch: Batch): { text: string; attachments: unknown[] } {
  const payload = batch.rows[0]!.payload;
  return { text: typeof payload.text === 'string' ? payload.text : '', attachments: Array.isArray(payload.attachments) ? payload.attachments : [] };
}

/** The batch cannot be sent as configured (no such corp, no secret, no agent id): final, no call was made. */
export class NotSendableError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'NotSendableError';
  }
}
