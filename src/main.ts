import { createLogger } from './platform/logger.js';
import { containAsyncFailures, loadConfigOrExit, onStopSignals } from './platform/process.js';
import { ensureDatabase, startEmbeddedPostgres, type EmbeddedServer } from './platform/db/embedded.js';
import { loadFieldCipher } from './platform/keys.js';
import { startApp, type RunningApp } from './app.js';

/**
 * The process entry: configuration, the database (embedded unless DATABASE_URL), the app, and an
 * orderly stop on SIGINT/SIGTERM. A bad configuration exits with code 1 and names the variable.
 */
async function main(): Promise<void> {
  const config = loadConfigOrExit();
  const logger = createLogger({ level: config.LOG_LEVEL });
  containAsyncFailures(logger);

  let embedded: EmbeddedServer | undefined;
  let app: RunningApp | undefined;
  onStopSignals(logger, async () => {
    await app?.close();
    await embedded?.stop();
  });

  try {
    let databaseUrl = config.DATABASE_URL;
    if (!databaseUrl) {
      embedded = await startEmbeddedPostgres({ dataDir: config.DATA_DIR, port: config.EMBEDDED_PG_PORT, logger });
      databaseUrl = await ensureDatabase(embedded.url, 'scrm');
    }
    app = await startApp({ config, logger, databaseUrl, cipher: loadFieldCipher(config, logger) });
    if (config.sandbox) {
      const shown = config.PUBLIC_URL ?? `http://localhost:${app.port}`;
      process.stdout.write(
        `\n  星河银行 SCRM (sandbox mode) is running at ${shown}\n` +
          `  Console:       ${shown}/console/  (login: admin / ${app.demoAdminPassword})\n` +
          `  Sidebar:       ${shown}/sidebar/  (simulated WeCom context: pick a member, then a customer)\n` +
          `  API document:  ${shown}/api/v1/openapi.json\n\n`,
      );
    }
  } catch (error) {
    logger.fatal({ err: error }, 'failed to start');
    await app?.close().catch(() => undefined);
    await embedded?.stop().catch(() => undefined);
    process.exit(1);
  }
}

void main();
