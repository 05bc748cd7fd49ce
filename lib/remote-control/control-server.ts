import type { Broker, Consumer, DeliveredMessage } from '../broker/broker.interface';
import { ControlCommandError } from '../errors/control-command.error';
import type { LamportClock } from '../protocol/lamport-clock';
import { pythonRepr } from '../protocol/python-repr';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryWorker } from '../worker/celery-worker';
import type { WorkerMonitor } from '../worker/worker-monitor';
import { CONTROL_COMMANDS } from './commands';
import type { TaskEventSwitch } from '../events/task-event-switch';
import { ControlContext, NO_REPLY } from './control-command';
import { ControlRequest, decodeControlRequest, encodeControlReply, ReplyRoute } from '../control/control-message';
import { isAddressedTo } from '../control/node-address';
import { nodeQueueDeclaration, replyExchangeDeclaration } from '../control/pidbox-topology';
import { TaskEventFlag } from './task-event-flag';

export interface ControlServerDependencies {
  broker: Broker;
  worker: CeleryWorker;
  /** The app's Lamport clock, shared with everything else that sends clock values. */
  clock: LamportClock;
  logger: CeleryLogger;
  /** kombu's `Connection.info()` of the broker, without the password (`stats.broker`). */
  brokerInfo: Record<string, unknown>;
  /** The app's settings in Celery's names, secrets masked (`conf`). */
  settings: Record<string, unknown>;
  /** Where `enable_events` / `disable_events` / `heartbeat` act; by default only remembered. */
  taskEvents?: TaskEventSwitch;
}

/**
 * A worker's remote-control mailbox (Celery's `Pidbox` consumer step, kombu's `Node`): consumes
 * `<nodename>.celery.pidbox` while the worker runs, runs the commands addressed to this node and
 * replies as a Python 5.2.6 worker does, so `celery inspect …`, `celery control …`,
 * `celery status`, Flower and `app.control.revoke()` see and steer it like any Celery worker.
 *
 * It follows the worker: attached as a WorkerMonitor, it starts when the worker has started and
 * stops when the worker has stopped (after its running tasks drained, so `inspect active` still
 * shows them meanwhile). Commands run one at a time, in arrival order, as in Celery.
 */
export class ControlServer implements WorkerMonitor {
  private consumer: Consumer | null = null;
  private starting: Promise<void> | null = null;
  private stopping: Promise<void> | null = null;
  /** The command being handled; the next one waits for it. */
  private handling: Promise<void> = Promise.resolve();
  private readonly declaredReplyExchanges = new Set<string>();
  private readonly shutdownListeners: (() => void | Promise<void>)[] = [];
  private readonly context: ControlContext;

  constructor(private readonly deps: ControlServerDependencies) {
    this.context = {
      worker: deps.worker,
      clock: deps.clock,
      logger: deps.logger,
      brokerInfo: deps.brokerInfo,
      settings: deps.settings,
      taskEvents: deps.taskEvents ?? new TaskEventFlag(),
      requestShutdown: () => {
        // Not awaited here: stopping waits for the command being handled, which is this one.
        void this.shutdownByRequest();
      },
    };
  }

  /** This node's name, the worker's (`-n`). */
  get nodename(): string {
    return this.deps.worker.hostname;
  }

  get isRunning(): boolean {
    return this.consumer !== null;
  }

  /**
   * Declares and consumes this node's mailbox, exactly as Celery declares it (celery-protocol.md
   * §1.4 row 2). Resolves once commands can arrive; calling it again returns the same promise.
   */
  start(): Promise<void> {
    if (this.consumer) return Promise.resolve();
    this.starting ??= this.consume().finally(() => {
      this.starting = null;
    });
    return this.starting;
  }

  /** Stops consuming (the mailbox queue goes with its consumer) and waits for the command being handled. */
  stop(): Promise<void> {
    this.stopping ??= this.cancel().finally(() => {
      this.stopping = null;
    });
    return this.stopping;
  }

  /**
   * Called after a remote `shutdown` stopped the worker and this server: close the application
   * there, as a Python worker exits (`app.get(ControlServer).onShutdown(() => app.close())`).
   */
  onShutdown(listener: () => void | Promise<void>): void {
    this.shutdownListeners.push(listener);
  }

  /** WorkerMonitor: the worker has stopped (its tasks drained). */
  workerStopped(): void {
    this.stop().catch((error: Error) => this.deps.logger.warn(`Remote control of ${this.nodename} did not stop cleanly: ${error.message}`));
  }

  private async consume(): Promise<void> {
    const queue = nodeQueueDeclaration(this.nodename);
    this.consumer = await this.deps.broker.consume({
      queues: [queue],
      // Celery consumes the mailbox with no_ack: each request is taken once, whatever happens to it.
      prefetch: 0,
      onMessage: (delivery) => this.receive(delivery),
    });
    this.deps.logger.debug?.(`Remote control of ${this.nodename} listening on ${queue.name}`);
  }

  private async cancel(): Promise<void> {
    await this.starting?.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = null;
    await consumer?.cancel();
    await this.handling;
  }

  private receive(delivery: DeliveredMessage): void {
    delivery.ack();
    this.handling = this.handling.then(() => this.handle(delivery)).catch((error: Error) =>
      this.deps.logger.error(`Remote control of ${this.nodename} failed on a request: ${error.message}`),
    );
  }

  private async handle(delivery: DeliveredMessage): Promise<void> {
    const { clock, logger } = this.deps;
    // Celery forwards its clock on every request, then moves it past the sender's.
    clock.forward();
    const decoded = decodeControlRequest(delivery.body, delivery.properties);
    if (!decoded.ok) {
      logger.warn(`Remote control of ${this.nodename} dropped a request: ${decoded.reason}`);
      return;
    }
    clock.adjust(decoded.clock);
    const request = decoded.request;
    if (!isAddressedTo(request, this.nodename)) return;
    const reply = await this.run(request);
    if (reply !== NO_REPLY && request.replyTo) await this.reply(request.replyTo, request.ticket, reply);
  }

  /** The command's reply, or `{"error": repr}` as Celery's `Node.dispatch` sends for any exception. */
  private async run(request: ControlRequest): Promise<unknown> {
    const command = CONTROL_COMMANDS.get(request.method);
    try {
      if (!command) throw new ControlCommandError('KeyError', request.method);
      return await command(this.context, request.arguments);
    } catch (error) {
      this.deps.logger.error(`Remote-control command ${request.method} failed on ${this.nodename}: ${(error as Error)?.message ?? String(error)}`);
      return { error: errorRepr(error) };
    }
  }

  private async reply(route: ReplyRoute, ticket: string | null, value: unknown): Promise<void> {
    const { broker, clock, logger } = this.deps;
    let message;
    try {
      message = encodeControlReply(this.nodename, value, { ticket, replyTo: route }, clock.forward());
    } catch (error) {
      message = encodeControlReply(this.nodename, { error: errorRepr(error) }, { ticket, replyTo: route }, clock.value);
    }
    try {
      await this.declareReplyExchange(route.exchange);
      await broker.publish(message);
    } catch (error) {
      logger.warn(`Remote control of ${this.nodename} could not reply to ${route.exchange}/${route.routingKey}: ${(error as Error).message}`);
    }
  }

  /** The replier declares the reply exchange, as kombu does (`declare=[exchange]`), once per name. */
  private async declareReplyExchange(name: string): Promise<void> {
    if (name === '' || this.declaredReplyExchanges.has(name)) return;
    await this.deps.broker.declareExchange(replyExchangeDeclaration(name));
    this.declaredReplyExchanges.add(name);
  }

  /** Celery's WorkerShutdown: a warm shutdown of the worker, then of this server, then the listeners. */
  private async shutdownByRequest(): Promise<void> {
    const { worker, logger } = this.deps;
    try {
      await worker.stop();
      await this.stop();
      for (const listener of this.shutdownListeners) await listener();
    } catch (error) {
      logger.error(`Remote shutdown of ${this.nodename} failed: ${(error as Error).message}`);
    }
  }
}

/** Python's `repr(exc)` of what a command threw, as Celery puts it in `{"error": …}`. */
function errorRepr(error: unknown): string {
  if (error instanceof ControlCommandError) return error.repr;
  if (error instanceof Error) return `${error.name}(${pythonRepr(error.message)})`;
  return `Exception(${pythonRepr(String(error))})`;
}
