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
