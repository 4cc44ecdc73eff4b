import { ConfigError, loadConfig, type Config } from './config.js';
import type { Logger } from './logger.js';

/**
 * Start-up pieces every process entry shares (src/main.ts, bots/main.ts).
 */

/** The configuration, or exit 1 with a message naming each bad variable. */
export function loadConfigOrExit(): Config {
  try {
    return loadConfig();
  } catch (error) {
    if (error instanceof ConfigError) {
      process.stderr.write(error.message + '\n');
      process.exit(1);
    }
    throw error;
  }
}

/**
 * A lost database connection surfaces as rejections inside libraries (the job scheduler, pg
 * listeners, a puppet). They are logged; the process keeps serving and recovers when the database
 * comes back.
 */
export function containAsyncFailures(logger: Logger): void {
  process.on('unhandledRejection', (reason) => logger.error({ err: reason }, 'unhandled rejection (contained)'));
  process.on('uncaughtException', (error) => {
    logger.fatal({ err: error }, 'uncaught exception');
    process.exitCode = 1;
  });
}

/**
 * Stops the process in order on SIGINT/SIGTERM: `shutdown` closes what the entry opened, within
 * 20 s or the process exits 1; then it exits 0 (some libraries, Wechaty among them, keep handles
 * open after their own stop). A second signal while stopping is ignored.
 */
export function onStopSignals(logger: Logger, shutdown: () => Promise<void>): (signal: string) => Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    logger.info({ signal }, 'stopping');
    const force = setTimeout(() => process.exit(1), 20_000);
    force.unref();
    try {
      await shutdown();
    } catch (error) {
      logger.error({ err: error }, 'error while stopping');
    }
    logger.info('stopped');
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return stop;
}
