/** Celery's worker log levels (`celery worker -l`); WARNING is Celery's default. */
export const CELERY_LOG_LEVELS = ['debug', 'info', 'warning', 'error', 'critical'] as const;
export type CeleryLogLevel = (typeof CELERY_LOG_LEVELS)[number];

/**
 * What `nestjs-celery-worker` was told on its command line. resolveCeleryConfig() applies it over
 * the module's options, flags winning as `celery worker` flags win over Celery's settings, so the
 * flags work for any module, whatever its code reads. Unset fields leave the module's options.
 */
export interface WorkerCommandLine {
  /** `-Q`: the queues to consume, over `worker.queues`. */
  readonly queues?: readonly string[];
  /** `-c`: tasks run at once, over `worker.concurrency`. */
  readonly concurrency?: number;
  /** `-n`, over `worker.hostname`. */
  readonly hostname?: string;
  /**
   * In child `i` (1-based) of `-P N`: `-<i>` is appended to the name part of the node name (the
   * flag's or the module's), so every process is a node of its own for remote control and events.
   */
  readonly processIndex?: number;
  /**
   * `-B`: run the module's `beat` in this worker (Celery: `celery worker -B`). Without it, as in
   * Celery, the CLI's worker fires no schedules, whatever the module's `beat` option says.
   */
  readonly beat?: boolean;
  /** `-E`: task events on (absent: the module's `worker.sendTaskEvents`). */
  readonly sendTaskEvents?: boolean;
  /** `-l`: info and debug log a line per task (Celery's received/succeeded lines) and list the tasks in the banner. */
  readonly logLevel: CeleryLogLevel;
  /** The app as the start-up banner names it: `WorkerModule (dist/worker.module.js)`. */
  readonly app: string;
  /** `--module` and `--export`: what a process-pool child creates when `worker.poolModule` is not set. */
  readonly module?: { readonly path: string; readonly export: string };
}

/** What one runtime of the process did at start-up, for the CLI to check that a worker took its flags. */
export interface RuntimeReport {
  /** It runs a worker (started now, or by the app: `worker.autoStart: false`). */
  readonly worker: boolean;
  /** It fires the module's schedules (a beat). */
  readonly beat?: boolean;
  /** Its roles in one line: `Worker for 3 task(s)`, `Producer only (worker: false)`. */
  readonly summary: string;
  /** The worker's node name, `%h` expanded; absent without a worker. */
  readonly hostname?: string;
}

/**
 * The private channel between bin/nestjs-celery-worker and the runtime: one object on
 * `globalThis` under a registered symbol, written by the CLI before it loads the module file.
 * Process-wide and in memory: it reaches every copy of this package the app may load, and no
 * process the app itself starts (an environment variable would be inherited by those). A child
 * of `-P N` gets the command from its supervisor and writes its own, its node name included.
 */
export interface WorkerCommandLineChannel {
  readonly commandLine: WorkerCommandLine;
  /** Appended by each runtime when it starts. */
  readonly runtimes: RuntimeReport[];
}

/** Symbol.for: the same key in every copy of the package, and in bin/ (plain JavaScript). */
export const WORKER_COMMAND_LINE_CHANNEL = Symbol.for('nestjs-celery.worker-command-line');

function channel(): WorkerCommandLineChannel | undefined {
  return (globalThis as Record<symbol, WorkerCommandLineChannel | undefined>)[WORKER_COMMAND_LINE_CHANNEL];
}

/** The worker CLI's command line, or null when the process was not started by it. */
export function workerCommandLine(): WorkerCommandLine | null {
  return channel()?.commandLine ?? null;
}

/** Tells the worker CLI (if it started this process) what a runtime decided to be. */
export function reportToWorkerCommandLine(report: RuntimeReport): void {
  channel()?.runtimes.push(report);
}

/**
 * The worker's node name under the CLI: `-n`, else the module's; in child `i` of `-P N`, with
 * `-<i>` appended to its name part: `worker1@%h` → `worker1-2@%h`. A bare host name means
 * `celery@<host>`, as for the worker itself (expandHostname).
 */
export function commandLineHostname(commandLine: WorkerCommandLine, moduleHostname: string): string {
  const hostname = commandLine.hostname ?? moduleHostname;
  const index = commandLine.processIndex;
  if (index === undefined) return hostname;
  const at = hostname.indexOf('@');
  return at < 0 ? `celery-${index}@${hostname}` : `${hostname.slice(0, at)}-${index}@${hostname.slice(at + 1)}`;
}
