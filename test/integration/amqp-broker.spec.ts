import { eventually } from '../support/celery-app';
import type { ChannelModel } from 'amqplib';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { AmqpBroker } from '../../lib/broker/amqp/amqp-broker';
import type { AmqpBrokerOptions } from '../../lib/broker/amqp/amqp-broker-options';
import type { DeliveredMessage, OutgoingMessage } from '../../lib/broker/broker.interface';
import type { BrokerLogger } from '../../lib/broker/broker-logger';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { BrokerConnectionError } from '../../lib/errors/broker-connection.error';
import { PublishError } from '../../lib/errors/publish.error';
import { PublishTimeoutError } from '../../lib/errors/publish-timeout.error';
import { QueueDeclarationError } from '../../lib/errors/queue-declaration.error';
import { QuorumQueueConsumerError } from '../../lib/errors/quorum-queue-consumer.error';
import { FIXTURES_DIR } from '../support/fixtures';
import { assertRabbitMqReachable, deleteExchanges, deleteQueues, forceCloseConnection, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

const run = promisify(execFile);
const FIXTURES = FIXTURES_DIR;

/** Collects log lines so tests can check what was logged (and that no password was). */
class RecordingLogger implements BrokerLogger {
  readonly lines: string[] = [];
  log(message: string): void {
    this.lines.push(`log ${message}`);
  }
  warn(message: string): void {
    this.lines.push(`warn ${message}`);
  }
  error(message: string): void {
    this.lines.push(`error ${message}`);
  }
}

/** Deliveries of a consumer, with a way to wait for a count. */
class Inbox {
  readonly messages: DeliveredMessage[] = [];
  private waiters: Array<() => void> = [];

  readonly onMessage = (message: DeliveredMessage): void => {
    this.messages.push(message);
    for (const wake of this.waiters.splice(0)) wake();
  };

  async waitFor(count: number, timeoutMs = 5000): Promise<DeliveredMessage[]> {
    const deadline = Date.now() + timeoutMs;
    while (this.messages.length < count) {
      const left = deadline - Date.now();
      if (left <= 0) throw new Error(`expected ${count} deliveries, got ${this.messages.length} within ${timeoutMs} ms`);
      await new Promise<void>((resolve) => {
        const timer = setTimeout(resolve, left);
        this.waiters.push(() => {
          clearTimeout(timer);
          resolve();
        });
      });
    }
    return this.messages;
  }
}

function taskMessage(routingKey: string, id: string, exchange = ''): OutgoingMessage {
  return {
    exchange,
    routingKey,
    body: Buffer.from(`[[1, 2], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]`),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      correlationId: id,
      replyTo: 'c1a1b2f4-0000-3000-8000-000000000000',
      headers: { lang: 'py', task: 'proto.add', id, retries: 0, eta: null, timelimit: [null, null], argsrepr: '(1, 2)' },
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

describe('AmqpBroker against RabbitMQ', () => {
  const queues: string[] = [];
  const exchanges: string[] = [];
  const brokers: AmqpBroker[] = [];

  /** A queue name cleaned up after the file, declared as Celery would unless told otherwise. */
  function name(prefix: string): string {
    const value = uniqueName(prefix);
    queues.push(value);
    exchanges.push(value);
    return value;
  }

  function newBroker(options: Partial<AmqpBrokerOptions> = {}): AmqpBroker {
    const broker = new AmqpBroker({ url: RABBITMQ_URL, logger: new RecordingLogger(), reconnectDelayMs: 100, ...options });
    brokers.push(broker);
    return broker;
  }

  beforeAll(async () => {
    await assertRabbitMqReachable();
  });

  afterAll(async () => {
    await Promise.all(brokers.map((broker) => broker.close()));
    await deleteQueues(...queues);
    await deleteExchanges(...exchanges);
  });

  it('confirms a publish and delivers it with its properties, headers and delivery info', async () => {
    const broker = newBroker();
    await broker.connect();
    const queue = celeryTaskQueue(name('it-broker-basic'));
    await broker.declareQueue(queue);

    await broker.publish(taskMessage(queue.name, 'id-default-exchange'));
    await broker.publish(taskMessage(queue.name, 'id-own-exchange', queue.name));

    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 10, onMessage: inbox.onMessage });
    const [first, second] = await inbox.waitFor(2);

    expect(first.body.toString()).toBe(taskMessage('', '').body.toString());
    expect(first.properties).toEqual({
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      priority: 0,
      correlationId: 'id-default-exchange',
      replyTo: 'c1a1b2f4-0000-3000-8000-000000000000',
      headers: { lang: 'py', task: 'proto.add', id: 'id-default-exchange', retries: 0, eta: null, timelimit: [null, null], argsrepr: '(1, 2)' },
    });
    expect(first.deliveryInfo).toEqual({ exchange: '', routingKey: queue.name, redelivered: false, queue: queue.name });
    expect(second.deliveryInfo).toEqual({ exchange: queue.name, routingKey: queue.name, redelivered: false, queue: queue.name });

    first.ack();
    first.ack(); // A second settle is a no-op, not a channel-killing PRECONDITION_FAILED.
    second.reject(false);
    await consumer.cancel();
  });

  it('declares task queues exactly as Celery 5.2.6 does (fixture topology)', async () => {
    const broker = newBroker();
    const plain = celeryTaskQueue(name('it-broker-topology'));
    const prioritized = celeryTaskQueue(name('it-broker-prio'), { maxPriority: 10 });
    await broker.declareQueue(plain);
    await broker.declareQueue(prioritized);

    const topology = JSON.parse(readFileSync(join(FIXTURES, 'rpc_worker_topology.json'), 'utf8')).topology;
    const fixtureQueues: string[] = topology['queues(name durable auto_delete exclusive arguments)'];
    const fixtureBindings: string[] = topology['bindings(source dest routing_key arguments)'];
    const fixtureExchanges: string[] = topology['exchanges(name type durable auto_delete arguments)'];
    const rename = (rows: string[], from: string, to: string): string[] =>
      rows.filter((row) => row.split('\t').some((cell) => cell === from)).map((row) => row.split(from).join(to));

    const listed = async (...args: string[]): Promise<string[]> =>
      (await run('rabbitmqctl', ['-q', '--no-table-headers', ...args])).stdout.split('\n').filter(Boolean);

    const queueRows = await listed('list_queues', 'name', 'durable', 'auto_delete', 'exclusive', 'arguments');
    expect(queueRows).toEqual(expect.arrayContaining([...rename(fixtureQueues, 'celery', plain.name), ...rename(fixtureQueues, 'capture_prio', prioritized.name)]));

    const exchangeRows = await listed('list_exchanges', 'name', 'type', 'durable', 'auto_delete', 'arguments');
    expect(exchangeRows).toEqual(
      expect.arrayContaining([...rename(fixtureExchanges, 'celery', plain.name), ...rename(fixtureExchanges, 'capture_prio', prioritized.name)]),
    );

    const bindingRows = await listed('list_bindings', 'source_name', 'destination_name', 'routing_key', 'arguments');
    expect(bindingRows).toEqual(
      expect.arrayContaining([...rename(fixtureBindings, 'celery', plain.name), ...rename(fixtureBindings, 'capture_prio', prioritized.name)]),
    );
  });

  it('rejects unroutable messages and messages to missing exchanges with a PublishError, and keeps publishing', async () => {
    const broker = newBroker();
    const nowhere = uniqueName('it-broker-nowhere');

    const unroutable = await broker.publish(taskMessage(nowhere, 'lost')).catch((error: unknown) => error);
    expect(unroutable).toBeInstanceOf(PublishError);
    expect((unroutable as PublishError).message).toContain(`routing key "${nowhere}"`);
    expect((unroutable as PublishError).message).toMatch(/declare the queue .*or start a worker/);

    const unbound = await broker.publish(taskMessage(nowhere, 'lost', 'amq.direct')).catch((error: unknown) => error);
    expect(unbound).toBeInstanceOf(PublishError);
    expect((unbound as PublishError).message).toContain('exchange "amq.direct"');

    // Not mandatory (Celery events): nobody listening is fine.
    await expect(broker.publish({ ...taskMessage(nowhere, 'event', 'amq.direct'), mandatory: false })).resolves.toBeUndefined();

    const missingExchange = uniqueName('it-broker-no-such-exchange');
    const notFound = await broker.publish(taskMessage('key', 'lost', missingExchange)).catch((error: unknown) => error);
    expect(notFound).toBeInstanceOf(PublishError);
    expect((notFound as PublishError).message).toContain(`exchange "${missingExchange}"`);
    expect((notFound as PublishError).message).toContain('does not exist');

    // RabbitMQ closed the publishing channel for that one; the next publish goes through a new one.
    const queue = celeryTaskQueue(name('it-broker-after-404'));
    await broker.declareQueue(queue);
    await expect(broker.publish(taskMessage(queue.name, 'fine'))).resolves.toBeUndefined();
  });

  it('confirms the other messages in flight when one of them makes RabbitMQ close the channel', async () => {
    const broker = newBroker();
    const queue = celeryTaskQueue(name('it-broker-innocent'));
    await broker.declareQueue(queue);
    const missingExchange = uniqueName('it-broker-missing');
    const innocent = Array.from({ length: 50 }, (_, index) => broker.publish(taskMessage(queue.name, `ok${index}`)));
    const culprit = broker.publish(taskMessage('key', 'bad', missingExchange)).catch((error: unknown) => error);
    const more = Array.from({ length: 50 }, (_, index) => broker.publish(taskMessage(queue.name, `ok${50 + index}`)));
    await expect(Promise.all([...innocent, ...more])).resolves.toHaveLength(100);
    expect(await culprit).toBeInstanceOf(PublishError);

    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 200, onMessage: inbox.onMessage });
    // At least once: a message in flight on the closed channel may have been stored and sent again,
    // so 100 deliveries can come before the last of the 100 messages: wait for 100 distinct ones.
    const distinct = () => new Set(inbox.messages.map((message) => message.properties.correlationId)).size;
    await inbox.waitFor(100);
    await eventually(() => (distinct() >= 100 ? true : undefined), 5_000, '100 distinct messages');
    const delivered = inbox.messages;
    expect(distinct()).toBe(100);
    for (const message of delivered) message.ack();
    await consumer.cancel();
  });

  it('publishes a batch in one call and settles each message with its own answer (publishMany)', async () => {
    const broker = newBroker();
    const queue = celeryTaskQueue(name('it-broker-batch'));
    await broker.declareQueue(queue);
    const nowhere = uniqueName('it-broker-batch-nowhere');
    const missingExchange = uniqueName('it-broker-batch-missing');
    const batch = [
      taskMessage(queue.name, 'b0'),
      taskMessage(nowhere, 'b1'),
      taskMessage(queue.name, 'b2'),
      taskMessage('key', 'b3', missingExchange),
      { ...taskMessage(nowhere, 'b4', 'amq.direct'), mandatory: false },
      ...Array.from({ length: 20 }, (_, index) => taskMessage(queue.name, `b${5 + index}`)),
    ];
    const outcomes = await broker.publishMany(batch);

    expect(outcomes).toHaveLength(batch.length);
    expect(outcomes[1]).toBeInstanceOf(PublishError);
    expect((outcomes[1] as PublishError).message).toContain(`routing key "${nowhere}"`);
    expect(outcomes[3]).toBeInstanceOf(PublishError);
    expect((outcomes[3] as PublishError).message).toContain(`exchange "${missingExchange}"`);
    const confirmed = outcomes.flatMap((outcome, index) => (outcome === undefined ? [index] : []));
    expect(confirmed).toEqual([0, 2, 4, ...Array.from({ length: 20 }, (_, index) => 5 + index)]);
    await expect(broker.publishMany([])).resolves.toEqual([]);

    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 50, onMessage: inbox.onMessage });
    await inbox.waitFor(22);
    // At least once: one in flight when RabbitMQ closed the channel for b3 may come twice.
    const ids = new Set(inbox.messages.map((message) => message.properties.correlationId));
    expect(ids).toEqual(new Set(['b0', 'b2', ...Array.from({ length: 20 }, (_, index) => `b${5 + index}`)]));
    for (const message of inbox.messages) message.ack();
    await consumer.cancel();

    await broker.close();
    const afterClose = await broker.publishMany([taskMessage(queue.name, 'late')]);
    expect(afterClose[0]).toBeInstanceOf(PublishError);
    expect((afterClose[0] as PublishError).message).toMatch(/closed/i);
  });

  it('times each unconfirmed publish out on its own deadline, single or batched', async () => {
    const broker = newBroker({ url: 'amqp://u:s3cret@127.0.0.1:1', publishTimeoutMs: 400, connectTimeoutMs: 400 });
    const settledAt = (promise: Promise<unknown>) =>
      promise.then(
        () => ({ error: undefined as unknown, at: performance.now() }),
        (error: unknown) => ({ error, at: performance.now() }),
      );
    const firstStart = performance.now();
    const first = settledAt(broker.publish(taskMessage('celery', 'first')));
    await sleep(250);
    const secondStart = performance.now();
    const second = settledAt(broker.publish(taskMessage('celery', 'second')));
    const batch = broker.publishMany([taskMessage('celery', 'third'), taskMessage('celery', 'fourth')]).then((outcomes) => ({ outcomes, at: performance.now() }));

    const [one, two, many] = await Promise.all([first, second, batch]);
    expect(one.error).toBeInstanceOf(PublishTimeoutError);
    expect(two.error).toBeInstanceOf(PublishTimeoutError);
    expect(many.outcomes).toEqual([expect.any(PublishTimeoutError), expect.any(PublishTimeoutError)]);
    expect((many.outcomes[0] as PublishTimeoutError).message).toContain('within 400 ms');
    // None earlier than its own deadline, and the first did not wait for the later ones'.
    expect(one.at - firstStart).toBeGreaterThanOrEqual(399);
    expect(two.at - secondStart).toBeGreaterThanOrEqual(399);
    expect(many.at - secondStart).toBeGreaterThanOrEqual(399);
    expect(one.at).toBeLessThan(two.at);
  });

  it('declares its queue again and resumes when RabbitMQ cancels the consumer (queue deleted)', async () => {
    const logger = new RecordingLogger();
    const broker = newBroker({ logger });
    const queue = celeryTaskQueue(name('it-broker-deleted'));
    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 5, onMessage: inbox.onMessage });
    await deleteQueues(queue.name);
    await sleep(400);
    await broker.publish(taskMessage(queue.name, 'after-delete'));
    const [message] = await inbox.waitFor(1);
    expect(message.properties.correlationId).toBe('after-delete');
    message.ack();
    expect(logger.lines).toContainEqual(expect.stringContaining(`RabbitMQ cancelled the consumer of queue "${queue.name}"`));
    await consumer.cancel();
  });

  it('refuses a re-declaration with other arguments with a QueueDeclarationError that explains the fix', async () => {
    const broker = newBroker();
    const queueName = name('it-broker-mismatch');
    await broker.declareQueue(celeryTaskQueue(queueName));

    const error = await broker.declareQueue(celeryTaskQueue(queueName, { maxPriority: 5 })).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(QueueDeclarationError);
    const declarationError = error as QueueDeclarationError;
    expect(declarationError.entityName).toBe(queueName);
    expect(declarationError.replyCode).toBe(406);
    expect(declarationError.message).toContain(`queue "${queueName}"`);
    expect(declarationError.message).toContain('"x-max-priority":5');
    expect(declarationError.message).toContain("inequivalent arg 'x-max-priority'");
    expect(declarationError.message).toContain('Python Celery workers and clients too');

    // The same refusal when consuming; and the broker is still usable afterwards.
    await expect(broker.consume({ queues: [celeryTaskQueue(queueName, { maxPriority: 5 })], prefetch: 1, onMessage: () => undefined })).rejects.toBeInstanceOf(
      QueueDeclarationError,
    );
    await expect(broker.publish(taskMessage(queueName, 'still-works'))).resolves.toBeUndefined();
  });

  it('declares what is declared together on one channel, and still names the one declaration RabbitMQ refuses', async () => {
    const broker = newBroker();
    await broker.connect();
    const model = (broker as unknown as { connection: { current: ChannelModel } }).connection.current;
    const createChannel = jest.spyOn(model, 'createChannel');
    const taken = name('it-broker-batch-taken');
    await broker.declareQueue(celeryTaskQueue(taken));
    const [first, second, third] = [name('it-broker-batch-a'), name('it-broker-batch-b'), name('it-broker-batch-c')];

    // Three queues (with their exchanges and bindings) in one turn: one channel between them.
    createChannel.mockClear();
    await Promise.all([first, second, third].map((queue) => broker.declareQueue(celeryTaskQueue(queue))));
    expect(createChannel).toHaveBeenCalledTimes(1);
    for (const queue of [first, second, third]) expect(await broker.queueDepth(queue)).toBe(0);

    // One refused among them: the batch is declared again a channel each, so the refusal names its
    // queue as when declared alone, and the others go through.
    const [a, b] = [name('it-broker-batch-d'), name('it-broker-batch-e')];
    createChannel.mockClear();
    const outcomes = await Promise.allSettled([
      broker.declareQueue(celeryTaskQueue(a)),
      broker.declareQueue(celeryTaskQueue(taken, { maxPriority: 5 })),
      broker.bindExchange(b, a, 'rk'),
      broker.declareExchange({ name: b, type: 'direct', durable: true }),
    ]);
    expect(createChannel).toHaveBeenCalledTimes(1 + 4);
    expect(outcomes.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'rejected', 'fulfilled']);
    const refused = (outcomes[1] as PromiseRejectedResult).reason as QueueDeclarationError;
    expect(refused).toBeInstanceOf(QueueDeclarationError);
    expect(refused.entityName).toBe(taken);
    expect(refused.replyCode).toBe(406);
    expect(refused.message).toContain(`queue "${taken}"`);
    expect(refused.message).toContain('"x-max-priority":5');
    expect(refused.message).toContain("inequivalent arg 'x-max-priority'");
    expect(refused.message).toContain('Python Celery workers and clients too');
    // Declared alone and in the order made, the binding comes before its destination exists: 404, naming it.
    const unbound = (outcomes[2] as PromiseRejectedResult).reason as QueueDeclarationError;
    expect(unbound).toBeInstanceOf(QueueDeclarationError);
    expect(unbound.entityName).toBe(b);
    expect(unbound.replyCode).toBe(404);
    expect(await broker.queueDepth(a)).toBe(0);
    await expect(broker.bindExchange(b, a, 'rk')).resolves.toBeUndefined();
    await expect(broker.publish(taskMessage(a, 'still-works'))).resolves.toBeUndefined();

    // A large batch goes out on a few channels side by side; a refusal is redone a channel each only for its channel's share.
    const many = Array.from({ length: 12 }, (_, index) => name(`it-broker-batch-many-${index}`));
    createChannel.mockClear();
    const manyOutcomes = await Promise.allSettled(
      many.map((queue, index) => broker.declareQueue(index === 9 ? celeryTaskQueue(taken, { maxPriority: 5 }) : celeryTaskQueue(queue))),
    );
    expect(createChannel).toHaveBeenCalledTimes(2 + 6);
    expect(manyOutcomes.map((outcome) => outcome.status)).toEqual(many.map((_, index) => (index === 9 ? 'rejected' : 'fulfilled')));
    expect(((manyOutcomes[9] as PromiseRejectedResult).reason as QueueDeclarationError).entityName).toBe(taken);
    for (const [index, queue] of many.entries()) if (index !== 9) expect(await broker.queueDepth(queue)).toBe(0);
  });

  it('never holds more unacknowledged deliveries than the prefetch count', async () => {
    const broker = newBroker();
    const queue = celeryTaskQueue(name('it-broker-prefetch'));
    await broker.declareQueue(queue);
    await Promise.all(Array.from({ length: 10 }, (_, index) => broker.publish(taskMessage(queue.name, `m${index}`))));

    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 3, onMessage: inbox.onMessage });
    await inbox.waitFor(3);
    await sleep(300);
    expect(inbox.messages).toHaveLength(3);

    inbox.messages[0].ack();
    await inbox.waitFor(4);
    await sleep(200);
    expect(inbox.messages).toHaveLength(4);

    for (let settled = 1; settled < 10; settled += 1) {
      (await inbox.waitFor(settled + 1))[settled].ack();
    }
    expect(inbox.messages.map((message) => message.properties.correlationId)).toEqual(Array.from({ length: 10 }, (_, index) => `m${index}`));
    await consumer.cancel();
  });

  it('dead-letters a message rejected without requeue to the x-dead-letter-exchange', async () => {
    const broker = newBroker();
    const deadLetterExchange = name('it-broker-dlx');
    const deadLetterQueue = { ...celeryTaskQueue(deadLetterExchange, { exchangeType: 'fanout', routingKey: '' }) };
    const queue = celeryTaskQueue(name('it-broker-dl-source'), { deadLetterExchange });
    await broker.declareQueue(deadLetterQueue);
    await broker.declareQueue(queue);
    await broker.publish(taskMessage(queue.name, 'doomed'));

    const source = new Inbox();
    const sourceConsumer = await broker.consume({ queues: [queue], prefetch: 1, onMessage: source.onMessage });
    (await source.waitFor(1))[0].reject(false);

    const dead = new Inbox();
    const deadConsumer = await broker.consume({ queues: [deadLetterQueue], prefetch: 1, onMessage: dead.onMessage });
    const [letter] = await dead.waitFor(1);
    expect(letter.properties.correlationId).toBe('doomed');
    expect(letter.deliveryInfo).toMatchObject({ exchange: deadLetterExchange, routingKey: queue.name, queue: deadLetterQueue.name });
    expect(letter.properties.headers?.['x-death']).toEqual([expect.objectContaining({ reason: 'rejected', queue: queue.name, count: 1 })]);
    letter.ack();
    await Promise.all([sourceConsumer.cancel(), deadConsumer.cancel()]);
  });

  it('resumes consuming after RabbitMQ drops the connection and sends what was published meanwhile', async () => {
    const connectionName = uniqueName('it-broker-reconnect');
    const logger = new RecordingLogger();
    let disconnected!: () => void;
    const disconnection = new Promise<void>((resolve) => {
      disconnected = resolve;
    });
    const broker = newBroker({ connectionName, logger, reconnectDelayMs: 300, events: { disconnected: () => disconnected() } });
    await broker.connect();
    const queue = celeryTaskQueue(name('it-broker-reconnect'));
    const inbox = new Inbox();
    await broker.consume({ queues: [queue], prefetch: 5, onMessage: inbox.onMessage });

    await broker.publish(taskMessage(queue.name, 'before'));
    const [before] = await inbox.waitFor(1);

    expect(await forceCloseConnection(connectionName)).toBe(1);
    await disconnection;
    // Published while disconnected: waits for the new connection, then is confirmed.
    const during = broker.publish(taskMessage(queue.name, 'during'));
    // Its channel is gone: settling is a silent no-op and RabbitMQ redelivers it.
    expect(() => before.ack()).not.toThrow();
    await expect(during).resolves.toBeUndefined();

    const delivered = await inbox.waitFor(3);
    const byId = new Map(delivered.slice(1).map((message) => [message.properties.correlationId, message]));
    expect(byId.get('before')?.deliveryInfo.redelivered).toBe(true);
    expect(byId.get('during')?.deliveryInfo.redelivered).toBe(false);
    for (const message of delivered.slice(1)) message.ack();

    const transitions = logger.lines.filter((line) => /Lost connection|Reconnecting to|Reconnected/.test(line));
    expect(transitions).toEqual([
      expect.stringMatching(/^warn Lost connection to RabbitMQ at amqp:\/\/guest:\*\*\*@127\.0\.0\.1:5672: .*CONNECTION_FORCED/),
      expect.stringMatching(/^log Reconnecting to RabbitMQ at .* in \d+ ms/),
      'log Reconnected to RabbitMQ at amqp://guest:***@127.0.0.1:5672',
    ]);
    expect(logger.lines.join('\n')).not.toContain('guest:guest');
  });

  it('consumes a queue added while running, also after a reconnect, and no longer one cancelled, also after a reconnect', async () => {
    const connectionName = uniqueName('it-broker-add-queue');
    let disconnections = 0;
    const broker = newBroker({ connectionName, reconnectDelayMs: 300, events: { disconnected: () => void (disconnections += 1) } });
    const first = celeryTaskQueue(name('it-broker-first'));
    const added = celeryTaskQueue(name('it-broker-added'));
    const inbox = new Inbox();
    const ids = () => inbox.messages.map((message) => message.properties.correlationId);
    const consumer = await broker.consume({ queues: [first], prefetch: 5, onMessage: (message) => (inbox.onMessage(message), message.ack()) });

    await consumer.addQueue(added);
    await broker.publish(taskMessage(added.name, 'added-1'));
    expect((await inbox.waitFor(1))[0].deliveryInfo.queue).toBe(added.name);

    const reconnect = async (expected: number) => {
      expect(await forceCloseConnection(connectionName)).toBe(1);
      await eventually(() => (disconnections === expected && broker.isConnected ? true : undefined), 10_000, 'the reconnection');
    };
    await reconnect(1);
    await broker.publish(taskMessage(added.name, 'added-2'));
    await inbox.waitFor(2);
    expect(inbox.messages[1].deliveryInfo.queue).toBe(added.name);

    await consumer.cancelQueue(added.name);
    await broker.publish(taskMessage(added.name, 'stays-1'));
    await broker.publish(taskMessage(first.name, 'marker-1'));
    await inbox.waitFor(3);
    await reconnect(2);
    await broker.publish(taskMessage(added.name, 'stays-2'));
    await broker.publish(taskMessage(first.name, 'marker-2'));
    await inbox.waitFor(4);
    expect(ids()).toEqual(['added-1', 'added-2', 'marker-1', 'marker-2']);
    expect(await broker.queueDepth(added.name)).toBe(2);
    await consumer.cancel();
  });

  it('refuses to add a quorum queue to a consumer whose prefetch is channel-wide, and goes on consuming', async () => {
    const broker = newBroker();
    const classic = celeryTaskQueue(name('it-broker-classic'));
    const quorum = celeryTaskQueue(name('it-broker-quorum'), { queueType: 'quorum' });
    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [classic], prefetch: 5, onMessage: (message) => (inbox.onMessage(message), message.ack()) });
    await expect(consumer.addQueue(quorum)).rejects.toBeInstanceOf(QuorumQueueConsumerError);
    await expect(consumer.addQueue(quorum)).rejects.toThrow(/add it to worker\.queues and restart the worker/);
    await broker.publish(taskMessage(classic.name, 'still-consuming'));
    expect((await inbox.waitFor(1))[0].properties.correlationId).toBe('still-consuming');
    await consumer.cancel();
  });

  it('gives up on an unreachable broker with errors that name it without the password', async () => {
    const logger = new RecordingLogger();
    const broker = newBroker({ url: 'amqp://u:s3cret@127.0.0.1:1', logger, publishTimeoutMs: 400, connectTimeoutMs: 400 });

    const timeout = await broker.publish(taskMessage('celery', 'never')).catch((error: unknown) => error);
    expect(timeout).toBeInstanceOf(PublishTimeoutError);
    expect(timeout).toBeInstanceOf(PublishError);
    const { message } = timeout as PublishTimeoutError;
    expect(message).toContain('RabbitMQ at amqp://u:***@127.0.0.1:1 did not confirm the message');
    expect(message).toContain('within 400 ms');
    expect(message).toContain('ECONNREFUSED');
    expect(message).not.toContain('s3cret');

    const connectError = await broker.connect().catch((error: unknown) => error);
    expect(connectError).toBeInstanceOf(BrokerConnectionError);
    expect((connectError as Error).message).toContain('amqp://u:***@127.0.0.1:1');
    expect((connectError as Error).message).not.toContain('s3cret');
    expect(logger.lines.join('\n')).not.toContain('s3cret');

    const started = Date.now();
    await broker.close();
    expect(Date.now() - started).toBeLessThan(1000);
  });

  it('fails connect() at once when RabbitMQ refuses the login', async () => {
    const broker = newBroker({ url: RABBITMQ_URL.replace(/\/\/[^@]*@/, '//guest:wrong-password@'), connectTimeoutMs: 10_000 });
    const started = Date.now();
    const error = await broker.connect().catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(BrokerConnectionError);
    expect((error as Error).message).toContain('ACCESS_REFUSED');
    expect((error as Error).message).not.toContain('wrong-password');
    expect(Date.now() - started).toBeLessThan(5000);
  });

  it('stops deliveries on cancel() while delivered messages can still be settled', async () => {
    const broker = newBroker();
    const queue = celeryTaskQueue(name('it-broker-cancel'));
    await broker.declareQueue(queue);
    await broker.publish(taskMessage(queue.name, 'held'));
    const inbox = new Inbox();
    const consumer = await broker.consume({ queues: [queue], prefetch: 1, onMessage: inbox.onMessage });
    const [held] = await inbox.waitFor(1);

    await consumer.cancel();
    await broker.publish(taskMessage(queue.name, 'after-cancel'));
    await sleep(200);
    expect(inbox.messages).toHaveLength(1);
    held.ack();

    // The acked one is gone; the one published after cancel() waits for the next consumer.
    const next = new Inbox();
    const nextConsumer = await broker.consume({ queues: [queue], prefetch: 5, onMessage: next.onMessage });
    const [remaining] = await next.waitFor(1);
    expect(remaining.properties.correlationId).toBe('after-cancel');
    await sleep(200);
    expect(next.messages).toHaveLength(1);
    remaining.ack();
    await nextConsumer.cancel();
  });
});
