import { randomUUID } from 'node:crypto';
import type { Consumer, DeliveredMessage } from '../../broker/broker.interface';
import { ResultBackendConnectionError } from '../../errors/result-backend-connection.error';
import { ResultStoreError } from '../../errors/result-store.error';
import { TaskResultMeta } from '../../protocol/result-meta';
import { maskSecretsInText } from '../../utils/mask-secrets';
import { NO_CAPABILITIES } from '../backend-capabilities';
import { ResultBackend, ResultRoute, WaitOptions } from '../result-backend.interface';
import { waitForReadyResult } from '../wait-for-ready-result';
import { decodeRpcReply } from './decode-rpc-reply';
import { encodeRpcReply } from './encode-rpc-reply';
import { LatestStateCache } from './latest-state-cache';
import { replyQueueDeclaration } from './reply-queue';
import { ResolvedRpcBackendOptions, resolveRpcBackendOptions, RpcBackendOptions } from './rpc-backend-options';
import { TaskChangeNotifier } from './task-change-notifier';

/**
 * Replies wake waiters at once; this is only how often a wait looks at the cache regardless,
 * a cheap safety net (a Map lookup) should a notification ever be missed.
 */
const WAIT_RECHECK_MS = 1_000;

/**
 * Celery's rpc:// result backend (`result_backend = 'rpc://'`, `celery.backends.rpc.RPCBackend`):
 * results travel back as AMQP messages to the reply queue of the process that sent the task.
 *
 * Worker side, `storeResult` publishes one reply per state to the task's `reply_to`. Client side,
 * `connect()` declares and consumes this process's reply queue (`replyQueue`, sent as `reply_to`
 * by CeleryClient), and keeps the latest state of each task in memory. So, as in Celery, a result
 * reaches only the process that sent the task, and is lost if that process is gone; there is
 * nothing to expire or clean up. For durable results shared between processes use PostgreSQL.
 */
export class RpcResultBackend implements ResultBackend {
  readonly description: string;
  /** A worker cannot read back what it sent: replies reach only the task's sender. */
  readonly capabilities = NO_CAPABILITIES;
  /** The reply queue's name: a new UUID per backend, like the app oid Python sends as `reply_to`. */
  readonly replyQueue: string;
  private readonly settings: ResolvedRpcBackendOptions;
  private readonly states: LatestStateCache;
  private readonly changes = new TaskChangeNotifier();
  private consumer: Consumer | null = null;
  private connecting: Promise<void> | null = null;
  private closed = false;
  private undecodableReplies = 0;

  constructor(options: RpcBackendOptions) {
    this.settings = resolveRpcBackendOptions(options);
    this.replyQueue = randomUUID();
    this.states = new LatestStateCache(this.settings.maxCachedResults);
    this.description = `rpc:// on ${this.settings.broker.description} (reply queue ${this.replyQueue})`;
  }

  /**
   * Declares the reply queue and starts consuming it (prefetch unlimited, each reply acked on
   * arrival: Celery consumes it with no_ack). After a reconnect the broker layer declares and
   * consumes it again by itself; replies sent while no queue existed are lost, as in Celery.
   */
  async connect(): Promise<void> {
    if (this.closed) throw this.closedError();
    if (this.consumer) return;
    this.connecting ??= this.startConsuming().finally(() => {
      this.connecting = null;
    });
    await this.connecting;
  }

  private async startConsuming(): Promise<void> {
    this.consumer = await this.settings.broker.consume({
      queues: [replyQueueDeclaration(this.replyQueue, this.settings.replyQueueExpiresMs)],
      prefetch: 0,
      onMessage: (message) => this.onReply(message),
    });
    this.settings.logger.debug?.(`Result backend consuming replies: ${this.description}`);
  }

  /**
   * Sends one state of a task to the reply queue its sender named (Celery's
   * `RPCBackend.store_result`); a task sent without `reply_to` gets nothing, as in Celery.
   * Throws ResultEncodeError for a value with no JSON form, and ResultStoreError when the broker
   * did not take the reply (the publish timeout passed while it was unreachable).
   */
  async storeResult(meta: TaskResultMeta, route?: ResultRoute): Promise<void> {
    if (!route?.replyTo) return;
    const destination = { replyTo: route.replyTo, correlationId: route.correlationId ?? meta.taskId };
    const message = encodeRpcReply(meta, destination, this.settings.deliveryMode);
    try {
      await this.settings.broker.publish(message);
    } catch (error) {
      throw new ResultStoreError(
        `Could not send the ${meta.status} reply of task ${meta.taskId} to reply queue "${route.replyTo}" on ` +
          `${this.settings.broker.description}: ${maskSecretsInText((error as Error).message)}. The sender did not get this state. ` +
          'Check that the broker is running and reachable.',
        { cause: error },
      );
    }
  }

  /** The latest state received for the task, or null (PENDING) when none has arrived. */
  async getResult(taskId: string): Promise<TaskResultMeta | null> {
    return this.latestState(taskId);
  }

  /** Resolves when a ready reply arrives (or has already); see `waitForReadyResult` for timeout and abort. */
  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta> {
    return waitForReadyResult(
      taskId,
      async (id) => this.latestState(id),
      this.changes,
      { initialDelayMs: WAIT_RECHECK_MS, maxDelayMs: WAIT_RECHECK_MS },
      options,
    );
  }

  /** Woken by each reply for the task that reaches this process (intermediate states included). */
  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return this.changes.waitForChange(taskId, maxWaitMs, signal);
  }

  /** Drops the remembered state (Celery's `AsyncResult.forget()`); nothing is stored elsewhere. */
  async forget(taskId: string): Promise<void> {
    this.states.forget(taskId);
  }

  /** Nothing to delete: replies live in this process only, bounded by `maxCachedResults`. */
  async deleteExpired(_olderThan: Date): Promise<number> {
    return 0;
  }

  /** Healthy while the reply queue is consumed over a live broker connection: no round trip needed. */
  async ping(): Promise<void> {
    if (this.closed) throw this.closedError();
    if (!this.consumer) throw new ResultBackendConnectionError(`The result backend (${this.description}) is not consuming its reply queue yet.`);
    if (!this.settings.broker.isConnected) {
      throw new ResultBackendConnectionError(`The result backend (${this.description}) has no broker connection: replies cannot arrive.`);
    }
  }

  /** Stops consuming replies; waits in progress end with ResultBackendConnectionError. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await this.connecting?.catch(() => undefined);
    const consumer = this.consumer;
    this.consumer = null;
    this.changes.notifyAll();
    await consumer?.cancel();
  }

  private onReply(message: DeliveredMessage): void {
    message.ack(); // taken once whatever it holds, as with Celery's no_ack consumer
    const decoded = decodeRpcReply(message.body, message.properties, new Date());
    if (!decoded.ok) {
      this.dropUndecodable(message, decoded.reason);
      return;
    }
    if (this.states.record(decoded.meta)) this.changes.notify(decoded.meta.taskId);
  }

  /** Logged in full the first time only: one misconfigured sender must not flood the logs. */
  private dropUndecodable(message: DeliveredMessage, reason: string): void {
    this.undecodableReplies += 1;
    const text = `Dropped a message on reply queue ${this.replyQueue} (correlation_id ${message.properties.correlationId ?? 'none'}): ${reason}.`;
    if (this.undecodableReplies === 1) this.settings.logger.warn(`${text} Further undecodable replies are logged at debug level.`);
    else this.settings.logger.debug?.(text);
  }

  private latestState(taskId: string): TaskResultMeta | null {
    if (!this.consumer) throw this.closed ? this.closedError() : this.notConnectedError();
    return this.states.get(taskId) ?? null;
  }

  private notConnectedError(): ResultBackendConnectionError {
    return new ResultBackendConnectionError(
      `The result backend (${this.description}) is not consuming its reply queue, so no result can arrive. ` +
        'Call connect() before reading results.',
    );
  }

  private closedError(): ResultBackendConnectionError {
    return new ResultBackendConnectionError(
      `The result backend (${this.description}) is closed: its reply queue is no longer consumed. ` +
        'Read results before close(), or create a new backend.',
    );
  }
}
