import { randomUUID } from 'node:crypto';
import type { Broker, Consumer, DeliveredMessage } from '../broker/broker.interface';
import { InvalidControlRequestError } from '../errors/invalid-control-request.error';
import { LamportClock } from '../protocol/lamport-clock';
import { CeleryLogger, SILENT_LOGGER } from '../utils/logger';
import type { ControlArguments } from './control-message';
import { decodeControlReply, encodeControlRequest } from './control-message';
import type { ControlOutcome } from './control-replies';
import { Inspect, InspectOptions } from './inspect';
import { clientReplyQueueDeclaration, PIDBOX_EXCHANGE, PIDBOX_REPLY_EXCHANGE_NAME } from './pidbox-topology';

/** One node's reply: `{"celery@host": value}`. */
export type ControlReply<T = unknown> = Record<string, T>;

/** Who a command is for and how long to wait for replies (Celery's `broadcast()` keyword arguments). */
export interface BroadcastOptions {
  /** Node names; default every node. */
  destination?: string[];
  /** Select nodes by name instead of `destination`, read with `matcher`. */
  pattern?: string;
  /** `glob` (default when a pattern is given) or `pcre`. */
  matcher?: 'glob' | 'pcre';
  /** Wait for replies (Celery's `reply`). Default false, as in Celery. */
  reply?: boolean;
  /** How long to wait for replies, ms (Celery's `timeout`, in seconds there). Default 1000. */
  timeout?: number;
  /** Stop waiting after this many replies; default the number of destinations, if given. */
  limit?: number;
}

/** `revoke()` options (Celery's `app.control.revoke(…, terminate=, signal=)`). */
export interface RevokeOptions extends Omit<BroadcastOptions, 'pattern' | 'matcher'> {
  /** Also stop the task if it is running now. */
  terminate?: boolean;
  /** Signal a Python worker sends the task's process; default SIGTERM. Our workers stop the task whatever it is. */
  signal?: string;
}

export interface ControlClientDependencies {
  broker: Broker;
  /** The app's Lamport clock; a client of its own gets a new one. */
  clock?: LamportClock;
  logger?: CeleryLogger;
}

const DEFAULT_TIMEOUT_MS = 1000;

/** A request waiting for replies. */
interface Collector {
  replies: ControlReply[];
  limit: number | undefined;
  done(): void;
}

/**
 * Celery's `app.control` (`celery.app.control.Control`): sends remote-control commands to every
 * worker, Python or Nest, or to the ones named, and collects their replies. Replies come back to
 * this client's own queue, `<oid>.reply.celery.pidbox`, declared as Celery declares it and
 * consumed from the first request that wants replies until the broker closes.
 *
 * ```ts
 * await celery.control.ping();                                   // [{ 'celery@host': { ok: 'pong' } }, …]
 * await celery.control.inspect().active();                       // { 'celery@host': [ … ] }
 * await celery.control.revoke(taskId, { terminate: true });
 * ```
 */
export class ControlClient {
  /** This client's id (Celery's app `oid`): the routing key of its replies. */
  readonly oid = randomUUID();
  private readonly clock: LamportClock;
  private readonly logger: CeleryLogger;
  private readonly collectors = new Map<string, Collector>();
  private replyConsumer: Consumer | null = null;
  private consuming: Promise<void> | null = null;
  private pidboxDeclared = false;

  constructor(private readonly deps: ControlClientDependencies) {
    this.clock = deps.clock ?? new LamportClock();
    this.logger = deps.logger ?? SILENT_LOGGER;
  }

  /**
   * Sends a command (Celery's `broadcast(command, arguments, destination, reply, timeout,
   * limit)`). With `reply`, resolves after `timeout` ms, or as soon as `limit` replies (by
   * default one per destination) have arrived, with the replies in arrival order; without, once
   * the broker took the request, with [].
   */
  async broadcast<T = unknown>(method: string, args: ControlArguments = {}, options: BroadcastOptions = {}): Promise<ControlReply<T>[]> {
    const { destination, pattern, matcher, reply = false, timeout = DEFAULT_TIMEOUT_MS } = options;
    checkOptions(method, options);
    const limit = options.limit ?? (destination && destination.length > 0 ? destination.length : undefined);
    if (reply) await this.consumeReplies();
    const ticket = reply ? randomUUID() : null;
    const collected = ticket ? this.collect(ticket, limit, timeout) : Promise.resolve([]);
    const message = encodeControlRequest(
      {
        method,
        arguments: args,
        destination: destination ?? null,
        pattern: pattern ?? null,
        matcher: pattern ? (matcher ?? 'glob') : null,
        ticket,
        replyTo: ticket ? { exchange: PIDBOX_REPLY_EXCHANGE_NAME, routingKey: this.oid } : null,
      },
      { clock: this.clock.forward(), expires: timeout > 0 ? (Date.now() + timeout) / 1000 : 0 },
    );
    try {
      await this.declarePidboxExchange();
      await this.deps.broker.publish(message);
    } catch (error) {
      if (ticket) this.collectors.get(ticket)?.done();
      throw error;
    }
    return (await collected) as ControlReply<T>[];
  }

  /** Celery's `app.control.ping()`: `[{node: {ok: 'pong'}}, …]`, one per worker that answered in time. */
  ping(options: Omit<BroadcastOptions, 'reply'> = {}): Promise<ControlReply<ControlOutcome>[]> {
    return this.broadcast<ControlOutcome>('ping', {}, { ...options, reply: true });
  }

  /** Celery's `app.control.inspect()`: read-only commands whose replies are merged by node name. */
  inspect(options: InspectOptions = {}): Inspect {
    return new Inspect(this, options);
  }

  /**
   * Celery's `app.control.revoke()`: every worker (or the ones named) refuses the task from now
   * on; with `terminate`, the workers running it stop it. No replies unless `reply: true`.
   */
  revoke(taskId: string | string[], options: RevokeOptions = {}): Promise<ControlReply<ControlOutcome>[]> {
    const { terminate = false, signal = 'SIGTERM', ...broadcast } = options;
    return this.broadcast<ControlOutcome>('revoke', { task_id: taskId, terminate, signal }, broadcast);
  }

  /**
   * Celery 5.3+'s `app.control.revoke_by_stamped_headers()`: every worker (or the ones named)
   * refuses tasks carrying one of these stamps (`{stamp: value or [values]}`) from now on; with
   * `terminate`, the workers running such tasks stop them. No replies unless `reply: true`.
   */
  revokeByStampedHeaders(headers: Record<string, unknown>, options: RevokeOptions = {}): Promise<ControlReply<ControlOutcome>[]> {
    const { terminate = false, signal = 'SIGTERM', ...broadcast } = options;
    return this.broadcast<ControlOutcome>('revoke_by_stamped_headers', { headers, terminate, signal }, broadcast);
  }

  /** Celery's `app.control.rate_limit()`: `"10/s"`, `"100/m"`, `"1000/h"`, a number per second, or null for none. */
  rateLimit(taskName: string, rateLimit: string | number | null, options: BroadcastOptions = {}): Promise<ControlReply<ControlOutcome>[]> {
    return this.broadcast<ControlOutcome>('rate_limit', { task_name: taskName, rate_limit: rateLimit }, options);
  }

  /** Celery's `app.control.time_limit()`: seconds; a limit left out is removed. */
  timeLimit(taskName: string, limits: { soft?: number | null; hard?: number | null }, options: BroadcastOptions = {}): Promise<ControlReply<ControlOutcome>[]> {
    return this.broadcast<ControlOutcome>('time_limit', { task_name: taskName, soft: limits.soft ?? null, hard: limits.hard ?? null }, options);
  }

  /**
   * Celery's `app.control.add_consumer()`: the workers start consuming `queue`. For a queue they
   * do not know, `exchange` (default: named like the queue), `exchangeType` (default direct) and
   * `routingKey` (default: the queue name) say how to declare it. Sent with Celery's exact
   * arguments, so Python workers obey it too.
   */
  addConsumer(
    queue: string,
    options: BroadcastOptions & { exchange?: string; exchangeType?: string; routingKey?: string } = {},
  ): Promise<ControlReply<ControlOutcome>[]> {
    const { exchange = null, exchangeType = 'direct', routingKey = null, ...broadcast } = options;
    return this.broadcast<ControlOutcome>('add_consumer', { queue, exchange, exchange_type: exchangeType, routing_key: routingKey }, broadcast);
  }

  /** Celery's `app.control.cancel_consumer()`: the workers stop consuming `queue`. */
  cancelConsumer(queue: string, options: BroadcastOptions = {}): Promise<ControlReply<ControlOutcome>[]> {
    return this.broadcast<ControlOutcome>('cancel_consumer', { queue }, options);
  }

  /** Celery's `app.control.shutdown()`: a warm shutdown of every worker, or of the ones named. */
  async shutdown(options: Omit<BroadcastOptions, 'reply' | 'limit' | 'timeout'> = {}): Promise<void> {
    await this.broadcast('shutdown', {}, options);
  }

  private collect(ticket: string, limit: number | undefined, timeoutMs: number): Promise<ControlReply[]> {
    return new Promise((resolve) => {
      const collector: Collector = {
        replies: [],
        limit,
        done: () => {
          clearTimeout(timer);
          this.collectors.delete(ticket);
          resolve(collector.replies);
        },
      };
      const timer = setTimeout(collector.done, timeoutMs);
      this.collectors.set(ticket, collector);
    });
  }

  private consumeReplies(): Promise<void> {
    if (this.replyConsumer) return Promise.resolve();
    this.consuming ??= this.deps.broker
      .consume({
        queues: [clientReplyQueueDeclaration(this.oid)],
        // Celery consumes replies with no_ack.
        prefetch: 0,
        onMessage: (delivery) => this.onReply(delivery),
      })
      .then((consumer) => {
        this.replyConsumer = consumer;
      })
      .finally(() => {
        this.consuming = null;
      });
    return this.consuming;
  }

  private onReply(delivery: DeliveredMessage): void {
    delivery.ack();
    const decoded = decodeControlReply(delivery.body, delivery.properties);
    if (!decoded.ok) {
      this.logger.warn(`Dropped a message on remote-control reply queue ${clientReplyQueueDeclaration(this.oid).name}: ${decoded.reason}`);
      return;
    }
    this.clock.adjust(decoded.clock);
    // A reply to a request that is no longer waiting (timed out) is dropped, as in kombu.
    const collector = decoded.ticket === null ? undefined : this.collectors.get(decoded.ticket);
    if (!collector) return;
    collector.replies.push(decoded.body);
    if (collector.limit !== undefined && collector.replies.length >= collector.limit) collector.done();
  }

  /** Declared before the first publish, as kombu does (`declare=[exchange]`). */
  private async declarePidboxExchange(): Promise<void> {
    if (this.pidboxDeclared) return;
    await this.deps.broker.declareExchange(PIDBOX_EXCHANGE);
    this.pidboxDeclared = true;
  }
}

function checkOptions(method: string, options: BroadcastOptions): void {
  if (typeof method !== 'string' || method === '') throw new InvalidControlRequestError(String(method), 'the command name must be a non-empty string such as "ping"');
  const { destination, timeout, limit, matcher } = options;
  if (destination !== undefined && (!Array.isArray(destination) || destination.some((name) => typeof name !== 'string'))) {
    throw new InvalidControlRequestError(method, 'destination must be an array of node names such as ["celery@host"]');
  }
  if (timeout !== undefined && !(typeof timeout === 'number' && timeout > 0 && Number.isFinite(timeout))) {
    throw new InvalidControlRequestError(method, `timeout must be a positive number of milliseconds, got ${String(timeout)}`);
  }
  if (limit !== undefined && !(Number.isInteger(limit) && limit > 0)) {
    throw new InvalidControlRequestError(method, `limit must be a positive integer, got ${String(limit)}`);
  }
  if (matcher !== undefined && matcher !== 'glob' && matcher !== 'pcre') {
    throw new InvalidControlRequestError(method, `matcher must be "glob" or "pcre", got ${String(matcher)}`);
  }
}
