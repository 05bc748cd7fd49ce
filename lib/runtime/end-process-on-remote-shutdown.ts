import type { CeleryLogger } from '../utils/logger';
import type { CeleryRuntime } from './celery-runtime';
import { appListensFor } from './warm-shutdown-on-signal';

/** How long the app may take to begin its own shutdown after the SIGTERM we send it. */
const APP_SHUTDOWN_START_MS = 2_000;
/** After the Celery connections closed, how long the app's other shutdown hooks may still run before the process ends anyway. */
const APP_SHUTDOWN_FINISH_MS = 10_000;

/**
 * A remote `shutdown` (Flower's button, `celery control shutdown`, the dashboard) ends the
 * process with exit code 0 after a warm shutdown, as a Python worker exits, so systemd or
 * Kubernetes restart it. The worker has already stopped and drained when this runs.
 *
 * When the process listens for SIGTERM (Nest's `app.enableShutdownHooks()`, the worker CLI) the
 * app is shut down the way SIGTERM does it, so every module's shutdown hooks run; Nest re-raises
 * the signal once closed, and the listener added here turns that into exit code 0. Without such a
 * listener, or when nobody begins shutting the app down, the runtime drains and closes itself and
 * the process exits.
 */
export function endProcessOnRemoteShutdown(runtime: CeleryRuntime, logger: CeleryLogger): () => Promise<void> {
  return async () => {
    logger.log('Remote shutdown: the worker has stopped; ending the process');
    if (appListensFor('SIGTERM')) {
      process.on('SIGTERM', () => {
        if (runtime.isClosed) process.exit(0);
      });
      runtime.onClosed(() => {
        // Nest re-raises the signal once every module has closed; should nothing end the process, this does.
        setTimeout(() => process.exit(0), APP_SHUTDOWN_FINISH_MS).unref();
      });
      process.kill(process.pid, 'SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, APP_SHUTDOWN_START_MS).unref());
      if (runtime.isShuttingDown) return;
      logger.warn('Remote shutdown: the SIGTERM listeners did not shut the app down; closing the Celery connections and exiting');
    }
    await runtime.close();
    process.exit(0);
  };
}
