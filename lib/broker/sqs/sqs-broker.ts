import { randomUUID } from 'node:crypto';
import { BrokerConnectionError } from '../../errors/broker-connection.error';
import { PublishError } from '../../errors/publish.error';
import { PublishTimeoutError } from '../../errors/publish-timeout.error';
import { UnsupportedOnSqsError } from '../../errors/unsupported-on-sqs.error';
import type { Broker, BrokerEvents, ConsumeOptions, Consumer, ExchangeDeclaration, OutgoingMessage, QueueDeclaration } from '../broker.interface';
import { type BrokerLogger, consoleBrokerLogger } from '../broker-logger';
import { SqsApi } from './sqs-api';
import { SqsConsumer, type SqsConsumerHost } from './sqs-consumer';
import { encodeSqsBody } from './sqs-message-body';
import { SqsQueueDirectory, type SqsQueue } from './sqs-queue-directory';
import { resolveSqsSettings, type SqsSettings } from './sqs-settings';
import type { SqsTransportOptions } from './sqs-transport-options';

export interface SqsBrokerOptions {
  /** `sqs://[access key id:secret access key@][host[:port]][?options]` (Celery `broker_url`). */
  url: string;
  /** Celery's `broker_transport_options` for SQS. */
  sqs?: SqsTransportOptions;
  /** kombu `visibility_timeout`: seconds a received message stays hidden before it is delivered again. Default 1800. */
  visibilityTimeoutSeconds?: number;
  /** How long connect() and publish() wait for SQS. Default 30000. */
  connectTimeoutMs?: number;
  publishTimeoutMs?: number;
  logger?: BrokerLogger;
  events?: BrokerEvents;
}

/** Queue arguments SQS has no equivalent for, and what to do instead. */
const REFUSED_ARGUMENTS: Record<string, string> = {
  'x-max-priority': 'SQS has no priorities: use a queue per priority and route urgent tasks to it (Celery\'s advice for SQS), or drop maxPriority.',
  'x-dead-letter-exchange': 'Give the SQS queue a redrive policy (a dead-letter queue) in AWS instead, or drop deadLetterExchange.',
  'x-dead-letter-routing-key': 'Give the SQS queue a redrive policy (a dead-letter queue) in AWS instead, or drop deadLetterRoutingKey.',
};

/**
 * The SQS broker, wire-compatible with kombu's SQS transport as Celery uses it: one SQS queue per
 * Celery queue (named as kombu names it), each message kombu's JSON envelope base64-encoded,
 * acknowledged by deleting it, and delivered again when a worker does not delete it within the
 * visibility timeout. Exchanges are routed in this process, as kombu does for SQS: only direct
 * ones, and no broadcast, so remote control, mingle and events are off (supportsBroadcast); ETA
 * tasks are held by the worker (supportsDelayedDelivery). What SQS cannot do is in docs/SQS.md.
 */
export class SqsBroker implements Broker {
  readonly description: string;
  readonly supportsDelayedDelivery = false;
  readonly supportsBroadcast = false;
  private readonly settings: SqsSettings;
  private readonly api: SqsApi;
  private readonly directory: SqsQueueDirectory;
  private readonly connectTimeoutMs: number;
  private readonly publishTimeoutMs: number;
  private readonly logger: BrokerLogger;
  private readonly events: BrokerEvents;
  /** exchange → routing key → queues: kombu keeps the same table in its channel's state. */
  private readonly bindings = new Map<string, Map<string, Set<string>>>();
  private readonly consumers = new Set<SqsConsumer>();
  private readonly ignoredArgumentsReported = new Set<string>();
  /** What the consumers use of this broker. */
  private readonly consumerHost: SqsConsumerHost;
  private healthy = false;
  private closed = false;

  constructor(options: SqsBrokerOptions) {
    this.settings = resolveSqsSettings(options.url, options.sqs, options.visibilityTimeoutSeconds);
    this.description = this.settings.description;
    this.connectTimeoutMs = options.connectTimeoutMs ?? 30_000;
    this.publishTimeoutMs = options.publishTimeoutMs ?? 30_000;
    this.logger = options.logger ?? consoleBrokerLogger;
    this.events = options.events ?? {};
    this.api = new SqsApi(this.settings);
    this.directory = new SqsQueueDirectory(this.api, this.settings);
    this.consumerHost = {
      api: this.api,
      logger: this.logger,
      waitTimeSeconds: this.settings.waitTimeSeconds,
      pollingIntervalMs: this.settings.pollingIntervalMs,
      declare: (queue) => this.declare(queue),
      reportHealth: (error) => this.reportHealth(error),
    };
  }

  /** SQS is plain HTTPS: "connected" means the last call to it succeeded. */
  get isConnected(): boolean {
    return !this.closed && this.healthy;
  }

  /**
   * One call proves the endpoint, region and credentials (kombu lists the queues at start-up):
   * ListQueues, or with predefined queues (whose IAM policies may not allow listing) a depth
   * query of each.
   */
  async connect(): Promise<void> {
    const signal = AbortSignal.timeout(this.connectTimeoutMs);
    try {
      const predefined = Object.values(this.settings.predefinedQueues);
      if (predefined.length === 0) await this.api.listQueues(this.settings.queueNamePrefix, signal);
      else await Promise.all(predefined.map((queue) => this.api.approximateDepth(queue.url)));
    } catch (error) {
      const reason = signal.aborted ? `no answer within ${this.connectTimeoutMs} ms` : (error as Error).message;
      throw new BrokerConnectionError(
        this.description,
        reason,
        `Could not reach SQS at ${this.settings.endpoint ?? `region ${this.settings.region ?? 'from the environment'}`} (${this.description}): ${reason}. ` +
          'Expected valid AWS credentials (in the URL, or the standard chain: AWS_ACCESS_KEY_ID/AWS_SECRET_ACCESS_KEY, ~/.aws, an instance or task role) ' +
          'allowed to list, create and use the queues (sqs:ListQueues, sqs:GetQueueUrl, sqs:CreateQueue, sqs:SendMessage, sqs:ReceiveMessage, sqs:DeleteMessage, ' +
          'sqs:ChangeMessageVisibility, sqs:GetQueueAttributes), or predefinedQueues; check the region and, for an SQS-compatible server, its endpoint.',
      );
    }
    this.reportHealth();
  }

  async declareExchange(exchange: ExchangeDeclaration): Promise<void> {
    this.refuseNonDirect(exchange, `Exchange "${exchange.name}"`);
  }

  async bindExchange(destination: string, source: string, _routingKey: string): Promise<void> {
    throw new UnsupportedOnSqsError(`Binding exchange "${destination}" to exchange "${source}"`, 'Route tasks to queues with taskRoutes instead.');
  }

  /**
   * Finds or creates the SQS queue (kombu `_new_queue`) and records its binding for routing.
   * Arguments with no SQS meaning that would change behaviour (priorities, dead-lettering) are
   * refused; the others (x-queue-type, x-expires…) are ignored, as kombu does, with a warning.
   */
  async declareQueue(queue: QueueDeclaration): Promise<void> {
    await this.declare(queue);
  }

  async publish(message: OutgoingMessage): Promise<void> {
    if (this.closed) throw PublishError.brokerClosed(message.exchange, message.routingKey, this.description);
    if (message.properties.priority !== undefined && message.properties.priority > 0) {
      throw new UnsupportedOnSqsError(
        `Sending with priority ${message.properties.priority} (exchange "${message.exchange}", routing key "${message.routingKey}")`,
        'SQS delivers in its own order: route urgent tasks to a queue of their own instead, and drop the priority option.',
      );
    }
    const queueNames = this.route(message);
    if (queueNames.length === 0) return;
    const body = encodeSqsBody(message, randomUUID());
    const signal = AbortSignal.timeout(this.publishTimeoutMs);
    try {
      for (const name of queueNames) {
        const queue = await this.directory.resolve(name);
        await this.api.send(queue.url, body, queue.fifo ? fifoOptions(message) : {}, signal);
      }
      this.reportHealth();
    } catch (error) {
      if (!signal.aborted) {
        this.reportHealth(error);
        if (error instanceof UnsupportedOnSqsError || error instanceof PublishError) throw error;
        throw new PublishError(`SQS refused the message to queue ${queueNames.map((name) => `"${name}"`).join(', ')}: ${(error as Error).message}`, message.exchange, message.routingKey, { cause: error });
      }
      throw new PublishTimeoutError(this.description, this.publishTimeoutMs, message.exchange, message.routingKey, this.healthy ? undefined : 'the last call to SQS failed', 'SQS');
    }
  }

  async consume(options: ConsumeOptions): Promise<Consumer> {
    const consumer = new SqsConsumer(this.consumerHost, options);
    this.consumers.add(consumer);
    try {
      await consumer.start(options.queues);
    } catch (error) {
      this.consumers.delete(consumer);
      await consumer.cancel();
      throw error;
    }
    return consumer;
  }

  /** ApproximateNumberOfMessages (kombu `_size`): null when the queue does not exist; creates nothing. */
  async queueDepth(name: string): Promise<number | null> {
    const queue = await this.directory.lookup(name);
    return queue ? this.api.approximateDepth(queue.url) : null;
  }

  /**
   * Stops the consumers and makes their unsettled messages visible again at once (kombu's
   * `restore_at_shutdown`: ChangeMessageVisibility 0) rather than after the visibility timeout.
   */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const consumers = [...this.consumers];
    this.consumers.clear();
    await Promise.all(consumers.map((consumer) => consumer.cancel().catch(() => undefined)));
    const unsettled = consumers.flatMap((consumer) => consumer.unsettledMessages);
    await Promise.all(unsettled.map((message) => this.api.changeVisibility(message.queue.url, message.receiptHandle, 0).catch(() => undefined)));
    this.api.close();
  }

  private async declare(queue: QueueDeclaration): Promise<SqsQueue> {
    if (queue.exchange) this.refuseNonDirect(queue.exchange, `Queue "${queue.name}" bound to exchange "${queue.exchange.name}"`);
    for (const [argument, advice] of Object.entries(REFUSED_ARGUMENTS)) {
      if (queue.arguments[argument] !== undefined) throw new UnsupportedOnSqsError(`Queue "${queue.name}" with ${argument}`, advice);
    }
    const ignored = Object.keys(queue.arguments).filter((argument) => !this.ignoredArgumentsReported.has(`${queue.name} ${argument}`));
    for (const argument of ignored) this.ignoredArgumentsReported.add(`${queue.name} ${argument}`);
    if (ignored.length > 0) this.logger.warn(`Queue "${queue.name}": ${ignored.join(', ')} ignored on SQS (no equivalent; kombu ignores them too)`);
    if (queue.exchange) {
      const keys = this.bindings.get(queue.exchange.name) ?? new Map<string, Set<string>>();
      this.bindings.set(queue.exchange.name, keys);
      const key = queue.routingKey ?? queue.name;
      keys.set(key, (keys.get(key) ?? new Set()).add(queue.name));
    }
    return this.directory.resolve(queue.name);
  }

  /**
   * The queues a message goes to (kombu `_lookup` for the direct exchange): the default exchange
   * names the queue; another exchange uses the bindings declared in this process. Nothing bound:
   * a PublishError for a mandatory message, nothing for the others (kombu drops them too).
   */
  private route(message: OutgoingMessage): string[] {
    if (message.exchange === '') return [message.routingKey];
    const queues = this.bindings.get(message.exchange)?.get(message.routingKey);
    if (queues && queues.size > 0) return [...queues];
    if (message.mandatory === false) return [];
    throw PublishError.unroutable(message.exchange, message.routingKey, 'no queue declared in this process is bound to it; SQS has no exchanges, kombu routes in each process');
  }

  private refuseNonDirect(exchange: ExchangeDeclaration, what: string): void {
    if (exchange.type === 'direct') return;
    throw new UnsupportedOnSqsError(
      `${what} of type ${exchange.type}`,
      exchange.type === 'fanout'
        ? 'SQS cannot broadcast, so remote control, broadcast queues and events do not work on it (Celery turns them off on SQS too); use RabbitMQ or Redis for those.'
        : 'kombu\'s SQS transport routes with direct exchanges only: route tasks to queues with taskRoutes.',
    );
  }

  private reportHealth(error?: unknown): void {
    const healthy = error === undefined;
    if (healthy === this.healthy || this.closed) return;
    this.healthy = healthy;
    if (healthy) this.events.connected?.();
    else this.events.disconnected?.(`SQS call failed: ${(error as Error)?.message ?? String(error)}`);
  }
}

/** kombu's `_put` for a `.fifo` queue: the message's group (default `default`) and deduplication id (default a new UUID). */
function fifoOptions(message: OutgoingMessage): { messageGroupId: string; deduplicationId: string } {
  return { messageGroupId: message.fifo?.messageGroupId ?? 'default', deduplicationId: message.fifo?.deduplicationId ?? randomUUID() };
}
