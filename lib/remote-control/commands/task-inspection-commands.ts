import { formatCeleryDate } from '../../protocol/celery-time';
import type { CeleryWorker } from '../../worker/celery-worker';
import { ControlCommand, maybeList, requireArguments } from '../control-command';
import type { QueriedTasks, ScheduledTaskInfo, TaskRequestInfo } from '../../control/control-replies';
import { HeldTask, taskRequestInfo } from '../task-request-info';

/** Celery's timer priority of every ETA entry (`call_at(eta, …, priority=6)`), shown by `scheduled`. */
const ETA_TIMER_PRIORITY = 6;

/** What `registered` shows after each name when no attributes are asked for (Celery's DEFAULT_TASK_INFO_ITEMS). */
const DEFAULT_TASK_INFO_ITEMS = ['exchange', 'routing_key', 'rate_limit'];

type RegisteredTask = ReturnType<CeleryWorker['registeredTasks']>[number];

/** Task attributes `registered` can show, as Celery names them; unknown ones are left out, as Python's getattr(…, None). */
const TASK_ATTRIBUTES: Record<string, (task: RegisteredTask) => unknown> = {
  rate_limit: (task) => task.rateLimit,
  queue: (task) => task.options.queue,
  time_limit: (task) => timeLimitText(task, task.timeLimit),
  soft_time_limit: (task) => timeLimitText(task, task.softTimeLimit),
};

/**
 * Celery's task inspection commands (`celery inspect active|reserved|scheduled|revoked|
 * query_task|registered`), replies as captured from 5.2.6 (Fx worker_pidbox_*).
 */
export const TASK_INSPECTION_COMMANDS: Record<string, ControlCommand> = {
  active: ({ worker }, { safe }) => {
    const delivered = worker.deliveryInfoById();
    return worker.activeTasks().map((task) =>
      info(worker, { message: task.message, deliveryInfo: delivered.get(task.message.id), startedAt: task.startedAt, acknowledged: task.acknowledged }, safe === true),
    );
  },

  /** Received and waiting for a slot or a rate-limit token; ETA tasks are under `scheduled`. */
  reserved: ({ worker }) => {
    const delivered = worker.deliveryInfoById();
    return worker.reservedTasks().map((message) => info(worker, { message, deliveryInfo: delivered.get(message.id), startedAt: null, acknowledged: false }));
  },

  scheduled: ({ worker }): ScheduledTaskInfo[] => {
    const delivered = worker.deliveryInfoById();
    return worker.scheduledTasks().map((message) => ({
      eta: formatCeleryDate(message.eta!),
      priority: ETA_TIMER_PRIORITY,
      request: info(worker, { message, deliveryInfo: delivered.get(message.id), startedAt: null, acknowledged: false }),
    }));
  },

  revoked: ({ worker }) => worker.revokedIds(),

  /** Running or reserved tasks among `ids`; ETA tasks are not found, as in Celery (Fx worker_pidbox_query_task). */
  query_task: ({ worker }, args): QueriedTasks => {
    requireArguments('query_task', args, ['ids']);
    const wanted = new Set(maybeList(args.ids));
    const delivered = worker.deliveryInfoById();
    const found: QueriedTasks = {};
    for (const task of worker.activeTasks()) {
      if (!wanted.has(task.message.id)) continue;
      const held = { message: task.message, deliveryInfo: delivered.get(task.message.id), startedAt: task.startedAt, acknowledged: task.acknowledged };
      found[task.message.id] = ['active', info(worker, held)];
    }
    for (const message of worker.reservedTasks()) {
      if (!wanted.has(message.id) || found[message.id]) continue;
      found[message.id] = ['reserved', info(worker, { message, deliveryInfo: delivered.get(message.id), startedAt: null, acknowledged: false })];
    }
    return found;
  },

  /**
   * Sorted task names, `celery.*` left out unless `builtins`; each followed by ` [attr=value …]`
   * for the asked attributes that are set (`"tasks.add [rate_limit=5/s]"`).
   */
  registered: ({ worker }, { taskinfoitems, builtins }) => {
    const items = Array.isArray(taskinfoitems) && taskinfoitems.length > 0 ? taskinfoitems.map(String) : DEFAULT_TASK_INFO_ITEMS;
    return worker
      .registeredTasks()
      .filter((task) => builtins === true || !task.name.startsWith('celery.'))
      .sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0))
      .map((task) => describeTask(task, items));
  },
};

function info(worker: CeleryWorker, task: HeldTask, safe = false): TaskRequestInfo {
  return taskRequestInfo(task, worker.hostname, safe);
}

/** A limit as Python prints it: `control time_limit` parses floats (`2.0`); a task's own limit is printed as written. */
function timeLimitText(task: RegisteredTask, seconds: number | null): string | null {
  if (seconds === null) return null;
  return task.limitsSetByControl && Number.isInteger(seconds) ? `${seconds}.0` : String(seconds);
}

function describeTask(task: RegisteredTask, items: readonly string[]): string {
  const fields: string[] = [];
  for (const item of items) {
    const value = TASK_ATTRIBUTES[item]?.(task);
    if (value !== null && value !== undefined) fields.push(`${item}=${String(value)}`);
  }
  return fields.length > 0 ? `${task.name} [${fields.join(' ')}]` : task.name;
}
