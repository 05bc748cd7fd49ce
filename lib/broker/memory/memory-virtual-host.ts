import { PublishError } from '../../errors/publish.error';
import { QueueDeclarationError } from '../../errors/queue-declaration.error';
import type { ExchangeDeclaration, MessageProperties, OutgoingMessage, QueueDeclaration } from '../broker.interface';
import { describeExchange, describeQueue } from '../describe-declaration';
import { exchangeInequivalence, queueInequivalence } from './declaration-equivalence';
import { ExpiryTimer } from './expiry-timer';
import { MemoryQueue, type QueueSubscriber } from './memory-queue';
import type { StoredMessage } from './stored-message';
import { splitTopicKey, topicMatches } from './topic-pattern';

interface MemoryBinding {
  readonly queue: MemoryQueue;
  readonly bindingKey: string;
  /** The binding key split into words, for topic exchanges. */
  readonly topicWords: readonly string[];
}

/** An exchange-to-exchange binding: messages matching `bindingKey` also go through `destination`. */
interface MemoryExchangeBinding {
  readonly destination: MemoryExchange;
  readonly bindingKey: string;
  readonly topicWords: readonly string[];
}

interface MemoryExchange {
  readonly declaration: ExchangeDeclaration;
  readonly bindings: MemoryBinding[];
  readonly exchangeBindings: MemoryExchangeBinding[];
}

/** Deliveries made in one go before yielding to the event loop. */
const DISPATCH_BATCH_SIZE = 5000;

/** Exchanges every RabbitMQ vhost has. */
const PREDECLARED_EXCHANGES: readonly ExchangeDeclaration[] = [
  { name: 'amq.direct', type: 'direct', durable: true },
  { name: 'amq.fanout', type: 'fanout', durable: true },
  { name: 'amq.topic', type: 'topic', durable: true },
  { name: 'amq.headers', type: 'headers', durable: true },
  { name: 'amq.match', type: 'headers', durable: true },
];

/**
 * The state of the in-process broker, like a RabbitMQ vhost: exchanges, bindings, queues and the
 * dispatching of queued messages to consumers. Several MemoryBroker instances may share one (all
 * brokers made from the same memory:// URL do, as kombu's memory transport shares its state).
 *
 * Deliveries always happen later, in a setImmediate batch, never inside publish() or ack():
 * callers can rely on no handler running re-entrantly in their stack.
 */
export class MemoryVirtualHost {
  private readonly exchanges = new Map<string, MemoryExchange>();
  private readonly queues = new Map<string, MemoryQueue>();
  /**
   * Queues that may have something to deliver, each once, in the order marked. An array, not a
   * Set: a queue is added and taken for every settled message, and a Set churned so chains V8's
   * obsolete hash tables into old space (lib/utils/in-flight-set.ts). It holds few queues, so
   * includes() costs less than hashing.
   */
  private readonly pending: MemoryQueue[] = [];
  private dispatchScheduled = false;
  private readonly expiry = new ExpiryTimer((now) => this.expireQueueHeads(now));

  constructor() {
    for (const exchange of PREDECLARED_EXCHANGES) this.exchanges.set(exchange.name, { declaration: exchange, bindings: [], exchangeBindings: [] });
  }

  /** Declares an exchange; a different type or flags than the existing one → QueueDeclarationError (406). */
  declareExchange(exchange: ExchangeDeclaration): void {
    if (exchange.name === '') return;
    const existing = this.exchanges.get(exchange.name);
    if (!existing) {
      this.exchanges.set(exchange.name, { declaration: exchange, bindings: [], exchangeBindings: [] });
      return;
    }
    const reason = exchangeInequivalence(existing.declaration, exchange);
    if (reason) throw new QueueDeclarationError('exchange', exchange.name, describeExchange(exchange), reason, 406);
  }

  /** Declares a queue, its exchange and binding, with RabbitMQ's equivalence rules (QueueDeclarationError, 406). */
  declareQueue(queue: QueueDeclaration): MemoryQueue {
    const exchange = queue.exchange && queue.exchange.name !== '' ? queue.exchange : undefined;
    if (exchange) {
      const existing = this.exchanges.get(exchange.name);
      const reason = existing && exchangeInequivalence(existing.declaration, exchange);
      if (reason) throw new QueueDeclarationError('queue', queue.name, describeQueue(queue), reason, 406);
    }
    let stored = this.queues.get(queue.name);
    if (stored) {
      const reason = queueInequivalence(stored.declaration, queue);
      if (reason) throw new QueueDeclarationError('queue', queue.name, describeQueue(queue), reason, 406);
    } else {
      stored = new MemoryQueue(queue);
      this.queues.set(queue.name, stored);
    }
    if (exchange) {
      if (!this.exchanges.has(exchange.name)) this.exchanges.set(exchange.name, { declaration: exchange, bindings: [], exchangeBindings: [] });
      this.bind(this.exchanges.get(exchange.name)!, stored, queue.routingKey ?? '');
    }
    return stored;
  }

  /** Messages ready in the queue (delivered, unacknowledged ones not counted, as in RabbitMQ), or null when it does not exist. */
  queueSize(name: string): number | null {
    return this.queues.get(name)?.size ?? null;
  }

  /**
   * Binds exchange `destination` to exchange `source` (RabbitMQ's exchange-to-exchange binding);
   * either missing → QueueDeclarationError (404), as RabbitMQ answers NOT_FOUND.
   */
  bindExchange(destination: string, source: string, routingKey: string): void {
    const [to, from] = [this.exchanges.get(destination), this.exchanges.get(source)];
    if (!to || !from) {
      const missing = to ? source : destination;
      const requested = `bound to exchange "${source}" with key "${routingKey}"`;
      throw new QueueDeclarationError('exchange binding', destination, requested, `NOT_FOUND - no exchange '${missing}' in vhost '/'`, 404);
    }
    const known = from.exchangeBindings.some((binding) => binding.destination === to && binding.bindingKey === routingKey);
    if (!known) from.exchangeBindings.push({ destination: to, bindingKey: routingKey, topicWords: splitTopicKey(routingKey) });
  }

  /**
   * Routes a message to its queues, or throws a PublishError: unknown exchange, invalid
   * expiration, or no queue at all for a mandatory message (RabbitMQ's basic.return).
   */
  publish(message: OutgoingMessage): void {
    const { exchange, routingKey } = message;
    const targets = this.route(exchange, routingKey);
    const ttlFromMessage = parseExpiration(message);
    if (targets.length === 0) {
      if (message.mandatory ?? true) throw PublishError.unroutable(exchange, routingKey, '312 NO_ROUTE');
      return;
    }
    // A copy, so the publisher changing its object afterwards cannot alter queued messages.
    const properties = copyProperties(message.properties);
    const now = Date.now();
    for (const queue of targets) {
      const ttl = minDefined(ttlFromMessage, queue.messageTtlMs);
      const expiresAt = ttl === undefined ? undefined : now + ttl;
      queue.enqueue({ exchange, routingKey, body: message.body, properties, redelivered: false, expiresAt });
      if (expiresAt !== undefined) this.expiry.wakeUpBy(expiresAt);
      this.markPending(queue);
    }
  }

  /** The queue of that name, if declared. */
  queue(name: string): MemoryQueue | undefined {
    return this.queues.get(name);
  }

  /** Adds a consumer to a queue and delivers what is waiting (in a later tick). */
  subscribe(queue: MemoryQueue, subscriber: QueueSubscriber): void {
    queue.subscribe(subscriber);
    this.markPending(queue);
  }

  /** Removes a subscriber; an auto-delete queue losing its last one is deleted with its messages. */
  unsubscribe(queue: MemoryQueue, subscriber: QueueSubscriber): void {
    if (queue.unsubscribe(subscriber)) this.deleteQueue(queue);
  }

  /** A consumer has room again, or messages arrived: deliver soon. */
  markPending(queue: MemoryQueue): void {
    if (!this.pending.includes(queue)) this.pending.push(queue);
    this.scheduleDispatch();
  }

  /** basic.reject with requeue: back to the head of its queue, flagged as redelivered. */
  requeue(queue: MemoryQueue, message: StoredMessage): void {
    if (this.queues.get(queue.name) !== queue) return; // The queue was deleted meanwhile.
    message.redelivered = true;
    queue.requeue(message);
    this.markPending(queue);
  }

  /**
   * Rejected (requeue=false) or expired: republished to the queue's x-dead-letter-exchange with an
   * x-death header as RabbitMQ does, or dropped when the queue has none.
   */
  deadLetter(queue: MemoryQueue, message: StoredMessage, reason: 'rejected' | 'expired'): void {
    const { arguments: args } = queue.declaration;
    const deadLetterExchange = args['x-dead-letter-exchange'];
    if (typeof deadLetterExchange !== 'string') return;
    const deadLetterRoutingKey = args['x-dead-letter-routing-key'];
    const routingKey = typeof deadLetterRoutingKey === 'string' ? deadLetterRoutingKey : message.routingKey;
    const { expiration: _expiration, ...properties } = message.properties;
    const headers = { ...properties.headers, 'x-death': xDeath(queue.name, message, reason, properties.headers?.['x-death']) };
    try {
      this.publish({ exchange: deadLetterExchange, routingKey, body: message.body, properties: { ...properties, headers }, mandatory: false });
    } catch {
      // As in RabbitMQ, a dead letter that cannot be routed (missing exchange) is dropped.
    }
  }

  private route(exchangeName: string, routingKey: string): MemoryQueue[] {
    if (exchangeName === '') {
      const queue = this.queues.get(routingKey);
      return queue ? [queue] : [];
    }
    const exchange = this.exchanges.get(exchangeName);
    if (!exchange) throw PublishError.exchangeNotFound(exchangeName, routingKey);
    const matched = new Set<MemoryQueue>();
    this.routeThrough(exchange, routingKey, matched, new Set());
    return [...matched];
  }

  /** Adds the queues `exchange` routes `routingKey` to, following exchange-to-exchange bindings once each (as RabbitMQ). */
  private routeThrough(exchange: MemoryExchange, routingKey: string, matched: Set<MemoryQueue>, visited: Set<MemoryExchange>): void {
    visited.add(exchange);
    for (const binding of exchange.bindings) if (bindingMatches(exchange, binding, routingKey)) matched.add(binding.queue);
    for (const binding of exchange.exchangeBindings) {
      if (!visited.has(binding.destination) && bindingMatches(exchange, binding, routingKey)) {
        this.routeThrough(binding.destination, routingKey, matched, visited);
      }
    }
  }

  /** Expires what has waited past its TTL at the head of every queue, then waits for the next. */
  private expireQueueHeads(now: number): void {
    let next = Infinity;
    for (const queue of this.queues.values()) {
      next = Math.min(next, queue.expireHead(now, (expired) => this.deadLetter(queue, expired, 'expired')));
    }
    if (next !== Infinity) this.expiry.wakeUpBy(next);
  }

  private bind(exchange: MemoryExchange, queue: MemoryQueue, bindingKey: string): void {
    const known = exchange.bindings.some((binding) => binding.queue === queue && binding.bindingKey === bindingKey);
    if (!known) exchange.bindings.push({ queue, bindingKey, topicWords: splitTopicKey(bindingKey) });
  }

  private deleteQueue(queue: MemoryQueue): void {
    if (this.queues.get(queue.name) !== queue) return;
    this.queues.delete(queue.name);
    const pendingIndex = this.pending.indexOf(queue);
    if (pendingIndex >= 0) this.pending.splice(pendingIndex, 1);
    queue.removeAll();
    for (const exchange of this.exchanges.values()) {
      for (let index = exchange.bindings.length - 1; index >= 0; index -= 1) {
        if (exchange.bindings[index].queue === queue) exchange.bindings.splice(index, 1);
      }
    }
  }

  private scheduleDispatch(): void {
    if (this.dispatchScheduled) return;
    this.dispatchScheduled = true;
    setImmediate(() => this.dispatch());
  }

  private dispatch(): void {
    this.dispatchScheduled = false;
    const now = Date.now();
    let budget = DISPATCH_BATCH_SIZE;
    // Queues added while iterating (dead letters, acks in handlers) are visited in this same pass.
    for (let queue = this.pending.shift(); queue !== undefined; queue = this.pending.shift()) {
      while (queue.size > 0) {
        if (budget-- === 0) {
          this.markPending(queue);
          return;
        }
        const subscriber = queue.nextSubscriberWithCapacity();
        if (!subscriber) break;
        const message = queue.takeNext(now, (expired) => this.deadLetter(queue, expired, 'expired'));
        if (!message) break;
        subscriber.deliver(message, queue);
      }
    }
  }
}

/** Whether a binding of `exchange` takes `routingKey`, by the exchange's type. */
function bindingMatches(exchange: MemoryExchange, binding: { bindingKey: string; topicWords: readonly string[] }, routingKey: string): boolean {
  switch (exchange.declaration.type) {
    case 'fanout':
    // Bindings carry no arguments here, and a headers binding without arguments matches everything.
    case 'headers':
      return true;
    case 'direct':
      return binding.bindingKey === routingKey;
    case 'topic':
      return topicMatches(binding.topicWords, routingKey);
  }
}

/** The per-message TTL in ms, from the AMQP `expiration` property (a string of digits). */
function parseExpiration(message: OutgoingMessage): number | undefined {
  const { expiration } = message.properties;
  if (expiration === undefined) return undefined;
  if (!/^\d+$/.test(expiration)) {
    throw PublishError.notSendable(message.exchange, message.routingKey, new Error(`invalid expiration "${expiration}": expected a string of non-negative integer milliseconds`));
  }
  return Number(expiration);
}

function minDefined(left: number | undefined, right: number | undefined): number | undefined {
  if (left === undefined) return right;
  if (right === undefined) return left;
  return Math.min(left, right);
}

function copyProperties(properties: MessageProperties): MessageProperties {
  return properties.headers ? { ...properties, headers: { ...properties.headers } } : { ...properties };
}

/** RabbitMQ's x-death entry: one per (queue, reason), the latest first, with a count. */
function xDeath(queue: string, message: StoredMessage, reason: string, previous: unknown): Array<Record<string, unknown>> {
  const history = Array.isArray(previous) ? (previous as Array<Record<string, unknown>>) : [];
  const earlier = history.find((entry) => entry.queue === queue && entry.reason === reason);
  const entry: Record<string, unknown> = {
    count: typeof earlier?.count === 'number' ? earlier.count + 1 : 1,
    reason,
    queue,
    time: Math.floor(Date.now() / 1000),
    exchange: message.exchange,
    'routing-keys': [message.routingKey],
  };
  if (message.properties.expiration !== undefined) entry['original-expiration'] = message.properties.expiration;
  return [entry, ...history.filter((other) => other !== earlier)];
}
