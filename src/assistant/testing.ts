import { bootApp, testCipher, type TestApp } from '../../test/harness.js';
import { LlmServer } from '../../test/llm-server.js';
import { customerRow } from '../customers/index.js';
import { DEMO_CORP_ID } from '../demo/seed.js';
import type { Db } from '../platform/db/database.js';
import { createLogger } from '../platform/logger.js';
import { createAssistant, type AssistantDeps, type AssistantSettings } from './deps.js';
import { knowledgeFrom } from './knowledge.js';

/**
 * Test support: the whole app talking to a local OpenAI-compatible server (test/llm-server.ts),
 * assistants with other settings over the same database, and customers who follow a member.
 */
export interface AssistantWorld {
  app: TestApp;
  llm: LlmServer;
  /** An assistant over the app's database and knowledge base with these settings. */
  assistant(settings?: Partial<AssistantSettings>): AssistantDeps;
  close(): Promise<void>;
}

export const TEST_KEY = 'sk-test-assistant';

export async function assistantWorld(env: Record<string, string> = {}): Promise<AssistantWorld> {
  const llm = await LlmServer.start();
  const app = await bootApp({ OPENAI_BASE_URL: llm.baseUrl, OPENAI_API_KEY: TEST_KEY, OPENAI_MODEL: 'test-model', OPENAI_MAX_RETRIES: '0', ...env });
  const defaults: AssistantSettings = {
    baseUrl: llm.baseUrl, apiKey: TEST_KEY, model: 'test-model', timeoutMs: 10_000, maxRetries: 0, stream: false, deadlineMs: 20_000, retentionDays: 180,
  };
  return {
    app,
    llm,
    assistant: (settings = {}) =>
      createAssistant({ db: app.database.db, gate: app.gate, logger: createLogger({ level: 'silent' }), knowledge: knowledgeFrom(app.kb) }, { ...defaults, ...settings }),
    async close() {
      await app.close();
      await llm.close();
    },
  };
}

let counter = 0;

export interface Customer {
  id: string;
  externalUserid: string;
}

/** A customer with a mobile and an ID number on record, linked to a WeCom contact that `userid` follows. */
export async function customerFollowing(
  db: Db,
  userid: string,
  over: { name?: string; gender?: 'M' | 'F'; consent?: boolean; riskLevel?: 'R1' | 'R2' | 'R3' | 'R4' | 'R5' | null; riskAssessedAt?: string | null; products?: string[]; aum?: number } = {},
): Promise<Customer> {
  const n = ++counter;
  const row = customerRow(testCipher(), {
    cifNo: `AST-${process.pid}-${n}`,
    name: over.name ?? '王建国',
    gender: over.gender ?? 'M',
    mobile: '13912345678',
    idNumber: '330106197005201234',
    birthDate: '1970-05-20',
    branchId: 'br-hz-xihu',
    aum: over.aum ?? 800_000,
    riskLevel: over.riskLevel === undefined ? 'R3' : over.riskLevel,
    riskAssessedAt: over.riskAssessedAt === undefined ? new Date(Date.now() - 30 * 86_400_000).toISOString().slice(0, 10) : over.riskAssessedAt,
    products: over.products ?? [],
    marketingConsent: over.consent ?? true,
  });
  const { id } = await db.insertInto('customers').values(row).returning('id').executeTakeFirstOrThrow();
  const externalUserid = `wmAst${process.pid}x${n}`;
  await db.insertInto('external_contacts').values({ corp_id: DEMO_CORP_ID, external_userid: externalUserid, name: '微信昵称', gender: 1, unionid: null, avatar: null, customer_id: id }).execute();
  await db
    .insertInto('follow_relations')
    .values({ corp_id: DEMO_CORP_ID, userid, external_userid: externalUserid, remark: null, description: null, remark_mobiles: [], add_way: 1, state: null, added_at: new Date(), deleted_at: null, deleted_by: null })
    .execute();
  return { id, externalUserid };
}

/** Polls `check` until it holds (jobs run on the app's own scheduler). */
export async function until(check: () => Promise<boolean>, what: string, timeoutMs = 20_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`gave up waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

export const auditRow = (db: Db, id: string) => db.selectFrom('assistant_audit').selectAll().where('id', '=', id).executeTakeFirstOrThrow();
