import type { Broker, ConsumeOptions, Consumer, DeliveredMessage, ExchangeDeclaration, OutgoingMessage, QueueDeclaration } from '../broker/broker.interface';
import type { TaskMessage } from '../protocol/task-message';
import type { TaskContext } from '../task/task-context';
import type { TaskRegistry } from '../task/task-registry';
import type { CeleryWorker } from '../worker/celery-worker';
import type { TaskSignals } from '../worker/task-signals';
import type { PartialTaskMessage, WorkerMonitor } from '../worker/worker-monitor';

/** A delivery handed to the worker and not settled yet. */
interface PendingDelivery {
  /** The worker took it as new work (taskReceived): an ack from now on is the early ack, not the end. */
  received: boolean;
  /** Its code began (taskStarted): it ends with the postrun signal handlers, after the app's own. */
  started: boolean;
  finish(): void;
}

/**
 * The broker as Celery's `task_always_eager` sees it, in front of the in-memory broker: a task
 * this app has (one of its own `@CeleryTask()`s) is handed to the app's worker as it is published,
 * and `publish()` resolves once the worker settled it — stored, its workflow continued, monitors
 * and the app's signal handlers told. So `send()` returns an AsyncResult that is already done, and through
 * the worker's one settlement path: guards, interceptors, signals, retries, chains, groups and
 * chords behave as in production.
 *
 * As in Celery's eager mode, `countdown` and `eta` are ignored (the task runs now) and a retry
 * runs again at once with `retries + 1`, until it succeeds or its retries are used up. Anything
 * else — a task of another process (Python's), Celery's `celery.chord_unlock`, remote control,
 * events — is published to the in-memory broker as usual, where nothing consumes the task queues:
 * it stays there, PENDING, as a task sent to workers that are not running. So does a task sent
 * before the worker started (before the module's `init()`).
 */
export class EagerBroker implements Broker {
  private workerQueues: ReadonlySet<string> = new Set();
  private registry: TaskRegistry | null = null;
  private signals: TaskSignals | null = null;
  private postrunHooked = false;
  /** The worker's message handler, from its consume() on its queues; null before start and after stop. */
  private deliverToWorker: ((message: DeliveredMessage) => void) | null = null;
  /** By `id#retries`: a retry is the same id published again, settled before the try that asked for it. */
  private readonly pending = new Map<string, PendingDelivery[]>();

  constructor(private readonly inner: Broker) {}

  get description(): string {
    return this.inner.description;
  }

  get isConnected(): boolean {
    return this.inner.isConnected;
  }

  /** Runs this app's tasks on `worker` from now on (before it starts: it is its consume() that is kept). */
  attach(worker: CeleryWorker, registry: TaskRegistry, signals: TaskSignals): void {
    this.workerQueues = new Set(worker.options.queues);
    this.registry = registry;
    this.signals = signals;
    worker.addMonitor(this.settlements);
  }

  connect(): Promise<void> {
    return this.inner.connect();
  }

  declareQueue(queue: QueueDeclaration): Promise<void> {
    return this.inner.declareQueue(queue);
  }

  declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    return this.inner.declareExchange(exchange);
  }

  bindExchange(destination: string, source: string, routingKey: string): Promise<void> {
    return this.inner.bindExchange(destination, source, routingKey);
  }

  queueDepth(name: string): Promise<number | null> {
    return this.inner.queueDepth(name);
  }

  close(): Promise<void> {
    this.deliverToWorker = null;
    return this.inner.close();
  }

  /**
   * The worker's consume() of its task queues is kept, not passed on: its tasks come from publish(),
   * and a message for a task it does not have stays queued instead of failing as NotRegistered.
   */
  async consume(options: ConsumeOptions): Promise<Consumer> {
    if (!this.isWorkersConsume(options.queues)) return this.inner.consume(options);
    this.deliverToWorker = options.onMessage;
    // Registered when the worker starts, after the app's handlers (the explorer's, at module init): they run in order.
    if (!this.postrunHooked) {
      this.postrunHooked = true;
      this.signals?.on('postrun', (signal) => this.ranToTheEnd(signal.task), { source: 'nestjs-celery/testing eager delivery' });
    }
    return {
      cancel: async () => {
        this.deliverToWorker = null;
      },
      setPrefetch: async () => undefined,
      addQueue: async () => undefined,
      cancelQueue: async () => undefined,
    };
  }

  publish(message: OutgoingMessage): Promise<void> {
    const headers = message.properties.headers;
    const deliver = this.deliverToWorker;
    const name = headers?.task;
    if (!deliver || typeof name !== 'string' || typeof headers?.id !== 'string' || !this.runsHere(name)) return this.inner.publish(message);
    return this.deliverNow(deliver, message, headers);
  }

  private runsHere(name: string): boolean {
    return this.registry !== null && this.registry.get(name) !== undefined && !this.registry.isBuiltin(name);
  }

  private isWorkersConsume(queues: readonly QueueDeclaration[]): boolean {
    return this.workerQueues.size > 0 && queues.length === this.workerQueues.size && queues.every((queue) => this.workerQueues.has(queue.name));
  }

  /**
   * Hands the message to the worker without its eta and waits for the end of its settlement: for
   * a task whose code ran, its postrun signal handlers; for one that did not (revoked, expired), the outcome
   * told to the worker's monitors; a reject ends either (refused, handed back); an ack before the
   * worker received it as new work is the duplicate guard's.
   */
  private deliverNow(deliver: (message: DeliveredMessage) => void, message: OutgoingMessage, headers: Record<string, unknown>): Promise<void> {
    const key = settlementKey(headers.id as string, headers.retries);
    return new Promise<void>((resolve) => {
      const pending: PendingDelivery = {
        received: false,
        started: false,
        finish: () => {
          const list = this.pending.get(key);
          const index = list?.indexOf(pending) ?? -1;
          if (index < 0) return;
          list!.splice(index, 1);
          if (list!.length === 0) this.pending.delete(key);
          resolve();
        },
      };
      this.pending.set(key, [...(this.pending.get(key) ?? []), pending]);
      deliver({
        body: message.body,
        properties: { ...message.properties, headers: { ...headers, eta: null } },
        // The queue the default exchange routes to; through another exchange, its key stands for it.
        deliveryInfo: { exchange: message.exchange, routingKey: message.routingKey, redelivered: false, queue: message.routingKey },
        ack: () => {
          if (!pending.received) pending.finish();
        },
        reject: () => pending.finish(),
      });
    });
  }

  private readonly settlements: WorkerMonitor = {
    taskReceived: (message) => {
      for (const pending of this.pending.get(settlementKey(message.id, message.retries)) ?? []) pending.received = true;
    },
    taskStarted: (message) => {
      for (const pending of this.pending.get(settlementKey(message.id, message.retries)) ?? []) pending.started = true;
    },
    taskSucceeded: (message) => this.settled(message),
    taskFailed: (message) => this.settled(message),
    taskRetried: (message) => this.settled(message),
    taskRevoked: (message) => this.settled(message),
  };

  /** An outcome was told: the end for a task that never ran; one that ran still has its signal handlers to run. */
  private settled(message: TaskMessage | PartialTaskMessage): void {
    for (const pending of [...(this.pending.get(settlementKey(message.id, message.retries)) ?? [])]) if (!pending.started) pending.finish();
  }

  private ranToTheEnd(task: TaskContext): void {
    for (const pending of [...(this.pending.get(settlementKey(task.id, task.retries)) ?? [])]) pending.finish();
  }
}

function settlementKey(id: string, retries: unknown): string {
  return `${id}#${typeof retries === 'number' ? retries : 0}`;
}
