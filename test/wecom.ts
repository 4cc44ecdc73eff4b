import type { TestApp } from './harness.js';

/** Helpers for tests of the WeCom link against the sandbox the app starts. */
export const until = async <T>(check: () => Promise<T | undefined | false> | T | undefined | false, timeoutMs = 20_000, what = 'condition'): Promise<T> => {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`${what} not met within ${timeoutMs} ms`);
    await new Promise((r) => setTimeout(r, 50));
  }
};

export async function finishedRun(app: TestApp, runId: string, timeoutMs = 30_000) {
  return until(
    async () => {
      const run = await app.database.db.selectFrom('wecom_sync_runs').selectAll().where('id', '=', runId).executeTakeFirst();
      return run && run.status !== 'running' ? run : undefined;
    },
    timeoutMs,
    `sync run ${runId} to finish`,
  );
}

/** Sum of a counter in the app's /metrics text, over label sets that contain every given label. */
export async function metric(app: TestApp, name: string, labels: Record<string, string> = {}): Promise<number> {
  const text = (await app.client().get('/metrics')).body as string;
  let total = 0;
  for (const line of text.split('\n')) {
    if (!line.startsWith(name + '{')) continue;
    if (Object.entries(labels).every(([k, v]) => line.includes(`${k}="${v}"`))) total += Number(line.split(' ').pop());
  }
  return total;
}

/** Every callback the sandbox has pushed has been answered (or given up), and the inbox is drained. */
export async function settled(app: TestApp): Promise<void> {
  await app.wecom.sandbox!.control.waitForDeliveries();
  await until(async () => {
    const pending = await app.database.db.selectFrom('wecom_events').select('id').where('status', '=', 'received').executeTakeFirst();
    return !pending;
  }, 20_000, 'inbox to drain');
  await app.events.settled();
}
