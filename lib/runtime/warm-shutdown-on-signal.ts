import type { CeleryLogger } from '../utils/logger';

/** The signals a Celery worker takes as a request for a warm shutdown. */
const SHUTDOWN_SIGNALS = ['SIGTERM', 'SIGINT'] as const;

/** What the guard needs of a CeleryRuntime. */
export interface SignalGuardedRuntime {
  readonly isShuttingDown: boolean;
  /** Resolves (or rejects) once start() is over; the shutdown waits for it, as Nest's does. */
  untilStarted(): Promise<void>;
  close(): Promise<void>;
}

const guarded = new Map<SignalGuardedRuntime, CeleryLogger>();

/**
 * Keeps a worker's SIGTERM/SIGINT from killing it outright while the app itself does not listen
 * for the signal. `NestFactory.createApplicationContext()` runs onApplicationBootstrap, where the
 * worker starts consuming and sends worker-online, before it returns the app on which
 * `enableShutdownHooks()` can be called: a signal in between took Node's default action, and the
 * worker vanished as if killed (no worker-offline, so monitors raised worker-silent; prefetched
 * tasks redelivered only when RabbitMQ noticed the closed connection). A Celery worker always
 * shuts down warmly on SIGTERM.
 *
 * So from the worker's start until the runtime closes, a listener stands by. When the signal
 * comes and something else listens for it (Nest's shutdown hooks, the worker CLI), it does
 * nothing: that shutdown runs every module's hooks. When nothing else does, it waits for start()
 * to end, drains and closes the runtime, then re-raises the signal without itself, so the process
 * ends as the signal would have ended it (or, if the app began listening meanwhile, the app's own
 * shutdown takes over). A second signal during that shutdown takes the default action at once.
 *
 * Returns the function that releases the runtime (call it once the runtime closed).
 */
export function shutDownWarmlyOnSignals(runtime: SignalGuardedRuntime, logger: CeleryLogger): () => void {
  if (guarded.size === 0) for (const signal of SHUTDOWN_SIGNALS) process.on(signal, onSignal);
  guarded.set(runtime, logger);
  return () => {
    if (!guarded.delete(runtime) || guarded.size > 0) return;
    for (const signal of SHUTDOWN_SIGNALS) process.removeListener(signal, onSignal);
  };
}

/** Whether anything but this guard listens for `signal`: the app handles it itself. */
export function appListensFor(signal: NodeJS.Signals): boolean {
  return process.listeners(signal).some((listener) => listener !== onSignal);
}

function onSignal(signal: NodeJS.Signals): void {
  if (appListensFor(signal)) return;
  const running = [...guarded].filter(([runtime]) => !runtime.isShuttingDown);
  if (running.length === 0) return endAsTheSignalWould(signal); // a second signal: no longer warm
  const shutdowns = running.map(async ([runtime, logger]) => {
    logger.log(`${signal} received before the app listens for it: warm shutdown of the worker, then the signal ends the process`);
    await runtime.untilStarted().catch(() => undefined); // a start that failed still leaves connections to close
    await runtime.close().catch((error: unknown) => logger.error(`Shutdown on ${signal} failed: ${error instanceof Error ? error.message : String(error)}`));
  });
  void Promise.all(shutdowns).then(() => endAsTheSignalWould(signal));
}

function endAsTheSignalWould(signal: NodeJS.Signals): void {
  guarded.clear();
  for (const shutdownSignal of SHUTDOWN_SIGNALS) process.removeListener(shutdownSignal, onSignal);
  process.kill(process.pid, signal);
}
