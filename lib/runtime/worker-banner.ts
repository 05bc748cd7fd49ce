import { arch, release, type as osType } from 'node:os';
import type { QueueDeclaration } from '../broker/broker.interface';
import { SOFTWARE_INFO } from '../events/software-info';
import type { CeleryLogLevel } from './worker-command-line';

/** Celery's ASCII art down the left of its banner (celery/apps/worker.py ARTLINES). */
const ART_LINES = [
  ' --------------',
  '--- ***** -----',
  '-- ******* ----',
  '- *** --- * ---',
  '- ** ----------',
  '- ** ----------',
  '- ** ----------',
  '- ** ----------',
  '- *** --- * ---',
  '-- ******* ----',
  '--- ***** -----',
  ' --------------',
];

/** What the banner shows: the worker as it starts consuming. */
export interface WorkerBannerInfo {
  /** The node name, `%h` expanded. */
  nodename: string;
  /** The app as the CLI names it: `WorkerModule (dist/worker.module.js)`. */
  app: string;
  /** Broker and result backend, passwords masked. */
  transport: string;
  results: string;
  concurrency: number;
  /** Where tasks run: Celery's banner names its pool (`8 (prefork)`); ours the event loop or the process pool. Default the event loop. */
  pool?: 'inline' | 'process';
  prefetchMultiplier: number;
  acksLate: boolean;
  taskEvents: boolean;
  queues: readonly QueueDeclaration[];
  /** The app's own tasks, and Celery's built-ins (`celery.*`) registered beside them. */
  tasks: readonly string[];
  builtinTasks: readonly string[];
  logLevel: CeleryLogLevel;
  /** Default: now, and this machine. */
  startedAt?: Date;
  platform?: string;
}

/**
 * The start-up banner of `celery worker` (Celery 5.2.6's celery/apps/worker.py: BANNER, ARTLINES,
 * `startup_info()` and `extra_info()`), laid out the same way, with what differs here: the version
 * is ours, the pool is the event loop, and two lines tell the prefetch window and when messages
 * are acked. As in Celery, the tasks are listed at `-l info` and `-l debug` only, Celery's
 * built-ins at debug only.
 */
export function renderWorkerBanner(info: WorkerBannerInfo): string {
  const lines = [
    `${info.nodename} v${SOFTWARE_INFO.sw_ver} (${SOFTWARE_INFO.sw_ident}, Celery 5.2.6 protocol)`,
    '',
    `${info.platform ?? platformName()} ${pythonTimestamp(info.startedAt ?? new Date())}`,
    '',
    '[config]',
    `.> app:         ${info.app}`,
    `.> transport:   ${info.transport}`,
    `.> results:     ${info.results}`,
    `.> concurrency: ${info.concurrency} (${info.pool === 'process' ? 'process pool' : 'event loop'})`,
    `.> prefetch:    ${info.concurrency * info.prefetchMultiplier} (concurrency × worker_prefetch_multiplier ${info.prefetchMultiplier})`,
    `.> acks:        ${info.acksLate ? 'late, once the outcome is stored (task_acks_late)' : 'early, before the task runs'}`,
    `.> task events: ${info.taskEvents ? 'ON' : 'OFF (enable -E to monitor tasks in this worker)'}`,
    '',
    '[queues]',
    ...[...info.queues].sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0)).map(queueLine),
    '',
  ];
  // Celery's startup_info(): the art beside the first lines, 16 spaces before the rest.
  const withArt = lines.map((line, index) => (index < ART_LINES.length ? `${ART_LINES[index]} ${line}` : `${' '.repeat(16)}${line}`));
  return ` \n${withArt.join('\n')}\n${taskList(info)}`;
}

/** Celery's QUEUE_FORMAT (celery/app/amqp.py): `.> name             exchange=name(direct) key=name`. */
function queueLine(queue: QueueDeclaration): string {
  const exchange = queue.exchange ?? { name: '', type: 'direct' };
  return `.> ${queue.name.padEnd(16)} exchange=${exchange.name}(${exchange.type}) key=${queue.routingKey ?? queue.name}`;
}

/** Celery's extra_info(): the task list at info and debug, built-ins at debug only. */
function taskList(info: WorkerBannerInfo): string {
  if (info.logLevel !== 'info' && info.logLevel !== 'debug') return '';
  const names = info.logLevel === 'debug' ? [...info.tasks, ...info.builtinTasks] : [...info.tasks];
  return `\n[tasks]\n${names.sort().map((name) => `  . ${name}`).join('\n')}\n`;
}

/** Python's platform.platform() has no Node counterpart: the same facts, `Linux-6.1.0-x86_64-node-v20.11.0`. */
function platformName(): string {
  return `${osType()}-${release()}-${arch() === 'x64' ? 'x86_64' : arch()}-node-${process.version}`;
}

/** Python's `str(datetime.now().replace(microsecond=0))`: local time, `2024-05-01 12:00:00`. */
function pythonTimestamp(date: Date): string {
  const pad = (value: number) => String(value).padStart(2, '0');
  return `${date.getFullYear()}-${pad(date.getMonth() + 1)}-${pad(date.getDate())} ${pad(date.getHours())}:${pad(date.getMinutes())}:${pad(date.getSeconds())}`;
}
