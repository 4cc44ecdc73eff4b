import { z } from 'zod';
import type { ComplianceGate } from '../compliance/index.js';
import type { Db } from '../platform/db/database.js';
import type { JobRunner } from '../platform/jobs.js';
import type { Logger } from '../platform/logger.js';
import type { WeComGateway } from '../wecom/client/index.js';

/** What the mass-send functions need; the app builds one and the routes, jobs and tests share it. */
export interface MassSendDeps {
  db: Db;
  gate: ComplianceGate;
  gateway: WeComGateway;
  jobs: JobRunner;
  /** The console room (src/realtime); a no-op on nodes without socket.io. */
  realtime: { toConsole(event: string, data: unknown): void };
  logger: Logger;
  /** The clock; tests pass their own. */
  now?: () => Date;
}

export const PROGRESS_EVENT = 'masssend.progress';
export const FANOUT_JOB = 'masssend.fanout';
export const WATCH_JOB = 'masssend.watch';

/** How long a member has to confirm a task in WeCom before the send stops waiting for them. */
export const CONFIRM_WINDOW_MS = 3 * 86_400_000;
/** WeCom takes at most 10,000 external_userid per add_msg_template (the dispatcher splits larger groups). */
export const MAX_RECIPIENTS_PER_CALL = 10_000;

export const audienceSchema = z.union([z.strictObject({ segmentId: z.uuid() }), z.strictObject({ snapshotId: z.uuid() })]);
export type Audience = z.output<typeof audienceSchema>;

export const createMassSendSchema = z.strictObject({
  name: z.string().trim().min(1).max(100),
  audience: audienceSchema,
  materialId: z.uuid(),
  /** When the send starts (ISO 8601 with offset); now when absent. */
  scheduledAt: z.iso.datetime({ offset: true }).transform((v) => new Date(v)).optional(),
  purpose: z.enum(['marketing', 'service']),
  /** The corp to send from; the only configured corp when absent. */
  corpId: z.string().min(1).max(64).optional(),
});
export type CreateMassSend = z.input<typeof createMassSendSchema>;

/** The content a mass send carries: the approved material as it was when the send was created. */
export interface MassSendContent {
  materialId: string;
  materialVersion: number;
  title: string;
  /** Ends with the disclosures the compliance gate required of the material. */
  text: string;
  attachments: unknown[];
  productIds: string[];
  disclosures: string[];
}

/** A timestamp column as read: pg returns Date for timestamptz (some schema columns type it loosely). */
export const asDate = (value: unknown): Date => (value instanceof Date ? value : new Date(String(value)));

/** Where an audited action came from. */
export interface RequestInfo {
  ip: string;
  requestId: string;
}
