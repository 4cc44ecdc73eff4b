import { randomInt } from 'node:crypto';
import { sealEnvelope } from '../crypto.js';
import { confirmMassSend, ignoreMassSend } from './api/massSend.js';
import { settleTransfers } from './api/transfer.js';
import type { CallbackDelivery } from './callbacks.js';
import type { Core } from './core.js';
import { SandboxControlError } from './errors.js';
import type { Fault, FaultSpec } from './faults.js';
import {
  customerDeletesMember, memberDeletesCustomer, memberEditsContact, scanQr, transferFail,
  type EditContactInput, type RelationInput, type ScanInput, type ScanResult, type TransferFailInput,
} from './simulate/contacts.js';
import { groupChange, type GroupChangeInput, type GroupChangeResult } from './simulate/groups.js';
import { kfCustomerMessage, kfEnterSession, memberMessage, type KfEnterInput, type KfMessageInput, type KfSimulationResult, type MemberMessageInput } from './simulate/kf.js';
import { tagChange, type TagChangeInput, type TagChangeResult } from './simulate/tags.js';
import type { MassSender, Received, ReceivedKind, ReceivingQuota, Transfer, WorldSettings } from './types.js';

/**
 * What a tester or a rehearsing bank can make WeCom do: customers and members acting in their
 * clients (with the callbacks WeCom sends), drift without callbacks, faults, quotas and time.
 * The HTTP control API (`/sandbox/...`) calls exactly these.
 */
export interface SandboxControl {
  scanQr(input: ScanInput): ScanResult;
  customerDeletesMember(input: RelationInput): { deliveryId: number | null };
  memberDeletesCustomer(input: RelationInput): { deliveryId: number | null };
  memberEditsContact(input: EditContactInput): { deliveryId: number | null };
  transferFail(input: TransferFailInput): { transfer: Transfer; deliveryId: number | null };
  settleTransfers(input?: { force?: boolean }): Transfer[];
  tagChange(input: TagChangeInput): TagChangeResult;
  groupChange(input: GroupChangeInput): GroupChangeResult;
  kfCustomerMessage(input: KfMessageInput): KfSimulationResult;
  kfEnterSession(input: KfEnterInput): KfSimulationResult;
  memberMessage(input: MemberMessageInput): { msgId: string; deliveryId: number };
  confirmMassSend(input: { msgid: string; userid?: string }): MassSender[];
  ignoreMassSend(input: { msgid: string; userid?: string }): MassSender[];

  driftAddContact(input: { userid: string; state?: string; customer?: ScanInput['customer'] }): ScanResult;
  driftDeleteFollow(input: { userid: string; externalUserid: string }): void;
  driftRenameTag(input: { id: string; name: string }): void;

  addFault(spec: FaultSpec): Fault;
  listFaults(): Fault[];
  removeFault(id: string): boolean;
  clearFaults(): void;
  expireTokens(): { expired: number };
  setQuota(input: { api: string; limit: number | null; per?: 'minute' | 'hour' }): void;
  setReceivingQuota(quota: ReceivingQuota): void;
  configure(settings: Partial<WorldSettings>): WorldSettings;
  advanceClock(ms: number): { now: number };

  setCallbackUrl(url: string | null): void;
  verifyCallbackUrl(): Promise<{ ok: boolean; status: number | null; body: string; expected: string }>;
  waitForDeliveries(): Promise<CallbackDelivery[]>;
  deliveries(filter?: { event?: string; changeType?: string; status?: CallbackDelivery['status'] }): CallbackDelivery[];
  received(filter?: { to?: string; kind?: ReceivedKind; ref?: string }): Received[];
}

export function createControl(core: Core): SandboxControl {
  const { world } = core;
  const control: SandboxControl = {
    scanQr: (input) => scanQr(core, input),
    customerDeletesMember: (input) => ({ deliveryId: customerDeletesMember(core, input) }),
    memberDeletesCustomer: (input) => ({ deliveryId: memberDeletesCustomer(core, input) }),
    memberEditsContact: (input) => ({ deliveryId: memberEditsContact(core, input) }),
    transferFail: (input) => transferFail(core, input),
    settleTransfers: (input) => settleTransfers(core, input?.force === true),
    tagChange: (input) => tagChange(core, input),
    groupChange: (input) => groupChange(core, input),
    kfCustomerMessage: (input) => kfCustomerMessage(core, input),
    kfEnterSession: (input) => kfEnterSession(core, input),
    memberMessage: (input) => memberMessage(core, input),
    confirmMassSend: ({ msgid, userid }) => confirmMassSend(world, msgid, userid, core.clock.now()),
    ignoreMassSend: ({ msgid, userid }) => ignoreMassSend(world, msgid, userid),

    driftAddContact: ({ userid, state, customer }) => scanQr(core, { userid, ...(state ? { state } : {}), ...(customer ? { customer } : {}), chatStarted: true, silent: true }),
    driftDeleteFollow: ({ userid, externalUserid }) => void customerDeletesMember(core, { userid, externalUserid, silent: true }),
    driftRenameTag: ({ id, name }) => void tagChange(core, { action: 'update', id, name, silent: true }),

    addFault: (spec) => {
      try {
        return core.faults.add(spec);
      } catch (error) {
        throw new SandboxControlError((error as Error).message);
      }
    },
    listFaults: () => core.faults.list(),
    removeFault: (id) => core.faults.remove(id),
    clearFaults: () => core.faults.clear(),
    expireTokens: () => ({ expired: core.credentials.expireAll(core.clock.now()) }),
    setQuota: ({ api, limit, per }) => {
      if (!api) throw new SandboxControlError('api is required');
      if (limit !== null && !(Number.isInteger(limit) && limit >= 0)) throw new SandboxControlError('limit must be a non-negative integer or null');
      core.quotas.set(api, limit, per ?? 'minute');
    },
    setReceivingQuota: (quota) => {
      if (!['day', 'week', 'month'].includes(quota.period) || !(Number.isInteger(quota.limit) && quota.limit >= 0)) {
        throw new SandboxControlError('quota is {period: day|week|month, limit: integer >= 0}');
      }
      world.settings.receivingQuota = { period: quota.period, limit: quota.limit };
    },
    configure: (settings) => {
      const { receivingQuota, tagsEditableOnlyByCreator, contactWayLimit, corpTagLimit } = settings;
      const count = (n: number | undefined) => n === undefined || (Number.isInteger(n) && n >= 0);
      if (!count(contactWayLimit) || !count(corpTagLimit)) throw new SandboxControlError('limits must be non-negative integers');
      if (tagsEditableOnlyByCreator !== undefined && typeof tagsEditableOnlyByCreator !== 'boolean') throw new SandboxControlError('tagsEditableOnlyByCreator must be a boolean');
      if (receivingQuota) control.setReceivingQuota(receivingQuota);
      if (tagsEditableOnlyByCreator !== undefined) world.settings.tagsEditableOnlyByCreator = tagsEditableOnlyByCreator;
      if (contactWayLimit !== undefined) world.settings.contactWayLimit = contactWayLimit;
      if (corpTagLimit !== undefined) world.settings.corpTagLimit = corpTagLimit;
      return { ...world.settings };
    },
    advanceClock: (ms) => {
      if (!Number.isFinite(ms) || ms < 0) throw new SandboxControlError('ms must be a non-negative number');
      return { now: core.clock.advance(ms) };
    },

    setCallbackUrl: (url) => {
      try {
        core.callbacks.setUrl(url);
      } catch {
        throw new SandboxControlError(`not a URL: ${url}`);
      }
    },
    verifyCallbackUrl: () => verifyCallbackUrl(core),
    waitForDeliveries: async () => {
      await core.callbacks.idle();
      return core.callbacks.deliveries;
    },
    deliveries: (filter = {}) =>
      core.callbacks.deliveries.filter(
        (d) => (!filter.event || d.event === filter.event) && (!filter.changeType || d.changeType === filter.changeType) && (!filter.status || d.status === filter.status),
      ),
    received: (filter = {}) =>
      world.received.filter((r) => (!filter.to || r.to === filter.to) && (!filter.kind || r.kind === filter.kind) && (!filter.ref || r.ref === filter.ref)),
  };
  return control;
}

/** WeCom's URL check when an admin saves the callback URL: the receiver must echo the decrypted echostr. */
async function verifyCallbackUrl(core: Core) {
  const url = core.callbacks.callbackUrl;
  if (!url) throw new SandboxControlError('no callback URL is set', 409);
  const expected = String(randomInt(1e9, 1e10)) + String(randomInt(1e9, 1e10));
  const sealed = sealEnvelope({ corpId: core.options.corpId, token: core.options.callbackToken, aesKey: core.options.callbackAesKey }, expected, {
    timestamp: String(core.clock.seconds()),
  });
  const target = new URL(url);
  for (const [k, v] of Object.entries({ ...sealed.query, echostr: sealed.encrypted })) target.searchParams.set(k, v);
  try {
    const response = await fetch(target, { signal: AbortSignal.timeout(Math.max(1000, core.options.callbackDeadlineMs)) });
    const body = await response.text();
    // The plaintext exactly: no quotes, BOM or newline (REFERENCE §1).
    return { ok: response.status === 200 && body === expected, status: response.status, body, expected };
  } catch (error) {
    return { ok: false, status: null, body: (error as Error).message, expected };
  }
}
