import { randomBytes, randomUUID } from 'node:crypto';
import { connect, type ChannelModel, type ConfirmChannel } from 'amqplib';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { declareQueueOn } from '../../lib/broker/amqp/declare-topology';
import { toPublishOptions } from '../../lib/broker/amqp/message-properties';
import { encodeTaskMessage } from '../../lib/protocol/encode-task-message';
import { EMPTY_EMBED } from '../../lib/protocol/signature-dict';
import { onCleanup } from './cleanup';

/** The task every worker in the benchmark runs: does nothing, returns None. */
export const NOOP_TASK = 'bench.noop';

/** The messages a drain pre-queues: bench.noop by default, or another task with its args. */
export interface PrequeueOptions {
  replyTo?: string;
  ignoreResult?: boolean;
  task?: string;
  args?: unknown[];
}

/** A name no other run or test shares. */
export function uniqueName(prefix: string): string {
  return `bench-${prefix}-${randomBytes(4).toString('hex')}`;
}

/** One plain amqplib connection for the benchmark's own needs (pre-queueing, watching depths). */
export class RabbitTools {
  private constructor(
    private readonly connection: ChannelModel,
    /** Closes the connection now rather than at clean-up. */
    readonly close: () => Promise<void>,
  ) {}

  static async open(url: string): Promise<RabbitTools> {
    const connection = await connect(url);
    connection.on('error', () => undefined);
    return new RabbitTools(connection, onCleanup('the benchmark AMQP connection', () => connection.close().catch(() => undefined)));
  }

  /** Declares a Celery task queue as both Celery and our worker do; deleted at clean-up. */
  async taskQueue(prefix: string): Promise<string> {
    const name = uniqueName(prefix);
    const channel = await this.connection.createChannel();
    try {
      await declareQueueOn(channel, celeryTaskQueue(name));
    } finally {
      await channel.close();
    }
    onCleanup(`queue ${name}`, () => this.deleteQueue(name));
    return name;
  }

  /** A plain reply queue (rpc:// results come back to it); deleted at clean-up. */
  async replyQueue(): Promise<string> {
    const name = uniqueName('reply');
    const channel = await this.connection.createChannel();
    try {
      await channel.assertQueue(name, { durable: false, autoDelete: false });
    } finally {
      await channel.close();
    }
    onCleanup(`queue ${name}`, () => this.deleteQueue(name));
    return name;
  }

  async deleteQueue(name: string): Promise<void> {
    try {
      const channel = await this.connection.createChannel();
      channel.on('error', () => undefined);
      await channel.deleteQueue(name);
      await channel.deleteExchange(name).catch(() => undefined);
      await channel.close();
    } catch {
      // Already gone, or its broker is (a scenario's private node, stopped with its queues).
    }
  }

  /**
   * Puts `count` no-op task messages (Celery protocol v2, as our client encodes them) in the
   * queue through a confirm channel, and returns once RabbitMQ has confirmed all of them.
   */
  async prequeue(queue: string, count: number, options: PrequeueOptions = {}): Promise<void> {
    const channel = await this.connection.createConfirmChannel();
    try {
      for (let sent = 0; sent < count; ) {
        const batch = Math.min(1000, count - sent);
        for (let index = 0; index < batch; index++) publishNoop(channel, queue, options);
        await channel.waitForConfirms();
        sent += batch;
      }
    } finally {
      await channel.close();
    }
  }

  /** Empties the queue (between runs of the publish rows). */
  async purge(queue: string): Promise<void> {
    const channel = await this.connection.createChannel();
    try {
      await channel.purgeQueue(queue);
    } finally {
      await channel.close();
    }
  }

  /** Ready messages in the queue (unacknowledged ones are not counted). */
  async depth(queue: string): Promise<number> {
    const channel = await this.connection.createChannel();
    try {
      return (await channel.checkQueue(queue)).messageCount;
    } finally {
      await channel.close();
    }
  }

  /** A channel for a scenario's own use (watching depths in a loop, raw publishing…). */
  channel(): Promise<import('amqplib').Channel> {
    return this.connection.createChannel();
  }

  confirmChannel(): Promise<ConfirmChannel> {
    return this.connection.createConfirmChannel();
  }
}

/** A no-op task message, as our client would build it. */
export function noopMessage(queue: string, options: PrequeueOptions = {}) {
  const id = randomUUID();
  const encoded = encodeTaskMessage({
    id,
    task: options.task ?? NOOP_TASK,
    args: options.args ?? [],
    kwargs: {},
    embed: EMPTY_EMBED,
    rootId: id,
    parentId: null,
    group: null,
    groupIndex: null,
    retries: 0,
    eta: null,
    expires: null,
    timeLimit: [null, null],
    shadow: null,
    origin: 'bench@localhost',
    ignoreResult: options.ignoreResult ?? false,
    argsrepr: null,
    kwargsrepr: null,
    customHeaders: {},
    replyTo: options.replyTo ?? null,
    correlationId: id,
    priority: null,
  });
  return { id, exchange: '', routingKey: queue, ...encoded };
}

function publishNoop(channel: ConfirmChannel, queue: string, options: PrequeueOptions): void {
  const message = noopMessage(queue, options);
  channel.publish('', queue, message.body, toPublishOptions(message));
}

/** Polls `check` every `intervalMs` until it returns true; throws after `timeoutMs`. Returns when it turned true. */
export async function pollUntil(check: () => Promise<boolean> | boolean, intervalMs: number, timeoutMs: number, what: string): Promise<number> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return performance.now();
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, intervalMs));
  }
}
