import { DeliveryInfo } from '../broker/broker.interface';
import { CeleryError } from '../errors/celery.error';
import { InvalidTaskStateError } from '../errors/invalid-task-state.error';
import { ReplaceRequested } from '../errors/replace-requested';
import { RetryRequested } from '../errors/retry-requested';
import { progressMeta, PROGRESS_STATE } from '../protocol/progress-meta';
import { toSignatureDict } from '../protocol/signature-dict';
import { TaskMessage } from '../protocol/task-message';
import { stampsOfHeaders } from '../protocol/stamps';
import { TaskContext, TaskStateUpdate } from '../task/task-context';

/** Stores a state `updateState` was asked for: the worker's ResultRecorder, for the task's message. */
export type StateStore = (update: Required<TaskStateUpdate>) => Promise<void>;

/** celery_taskmeta.status is varchar(50); the other backends take what it can hold. */
const MAX_STATE_LENGTH = 50;

/**
 * What `updateState` does once the task's run has ended (it returned, threw, or hit its hard time
 * limit while its code still runs): refuse, since the final state is stored or about to be, and
 * PostgreSQL would let a late PROGRESS overwrite it.
 */
export function refuseStateAfterTheRun(update: Required<TaskStateUpdate>): Promise<never> {
  return Promise.reject(
    new CeleryError(
      `updateState() was called for task ${update.taskId} (state ${update.state}) after the task's run ended: ` +
        'its final state is stored and would be overwritten. Report progress before the task returns; stop work when currentTask().signal fires.',
    ),
  );
}

const SIGNAL_OF = Symbol('signalOf');

type SignalSource = AbortSignal | (() => AbortSignal);

/**
 * The prototype of the contexts built here: `signal` is made the first time it is read. A task
 * that never reads it gets no AbortSignal, and on Node.js 20 an AbortSignal made for every task
 * kept the young generation's survivors alive until the next major GC (100,000 no-op tasks:
 * 232 MiB promoted, 14 major GCs, peak RSS 148 MiB; without it 0.4 MiB, none and 88 MiB; the
 * other cause of that promotion was the worker's Maps of tasks, see utils/in-flight-set.ts). A
 * getter on the prototype, not on each object: a getter in the object literal measured worse than
 * none (346 MiB promoted).
 */
const LAZY_SIGNAL = {
  get signal(): AbortSignal {
    const holder = this as unknown as { [SIGNAL_OF]: SignalSource };
    const source = holder[SIGNAL_OF];
    return typeof source === 'function' ? (holder[SIGNAL_OF] = source()) : source;
  },
  set signal(value: AbortSignal) {
    (this as unknown as { [SIGNAL_OF]: SignalSource })[SIGNAL_OF] = value;
  },
};

/**
 * The context a running task sees (Celery's `self.request`), built from its message. `signal`
 * may be a function, called when the task first reads `signal` (the worker passes its run's).
 */
export function createTaskContext(
  message: TaskMessage,
  deliveryInfo: DeliveryInfo,
  hostname: string,
  signal: SignalSource,
  storeState: StateStore = refuseStateAfterTheRun,
): TaskContext {
  const updateState = (update: TaskStateUpdate) => checkedStore(message.id, update, storeState);
  const context: Omit<TaskContext, 'signal'> & { [SIGNAL_OF]: SignalSource } = {
    [SIGNAL_OF]: signal,
    id: message.id,
    name: message.task,
    args: message.args,
    kwargs: message.kwargs,
    retries: message.retries,
    rootId: message.rootId,
    parentId: message.parentId,
    groupId: message.group,
    eta: message.eta,
    expires: message.expires,
    headers: message.customHeaders,
    stamps: stampsOfHeaders(message.customHeaders),
    deliveryInfo,
    replyTo: message.replyTo,
    correlationId: message.correlationId,
    hostname,
    retry: (options = {}) => {
      throw new RetryRequested(options);
    },
    replace: (signature) => {
      throw new ReplaceRequested(toSignatureDict(signature));
    },
    updateState,
    setProgress: (current, total, description) => updateState({ state: PROGRESS_STATE, meta: progressMeta(current, total, description) }),
  };
  return Object.setPrototypeOf(context, LAZY_SIGNAL) as TaskContext;
}

/** Refuses a state no backend can hold, before anything is sent. */
export function checkedStore(runningTaskId: string, update: TaskStateUpdate, storeState: StateStore): Promise<void> {
  const taskId = update?.taskId ?? runningTaskId;
  const state: unknown = update?.state;
  if (typeof state !== 'string' || state.length === 0 || state.length > MAX_STATE_LENGTH) {
    const got = JSON.stringify(state) ?? String(state);
    const expected = `a state name of 1 to ${MAX_STATE_LENGTH} characters (celery_taskmeta.status is varchar(${MAX_STATE_LENGTH})), such as 'PROGRESS'`;
    return Promise.reject(new InvalidTaskStateError(String(taskId), `got state ${got}; expected ${expected}`));
  }
  if (typeof taskId !== 'string' || taskId.length === 0) {
    return Promise.reject(new InvalidTaskStateError(String(taskId), 'taskId must be a task id (a non-empty string), or left out for the running task'));
  }
  return storeState({ taskId, state, meta: update.meta === undefined ? null : update.meta });
}
