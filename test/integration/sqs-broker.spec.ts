import type { DeliveredMessage, QueueDeclaration } from '../../lib/broker/broker.interface';
import { createBroker } from '../../lib/broker/create-broker';
import { createCeleryRuntime } from '../../lib/runtime/create-celery-runtime';
import { SqsBroker } from '../../lib/broker/sqs/sqs-broker';
import { eventually } from '../support/celery-app';
import { type LocalSqsServer, sqsBrokerUrl, startLocalSqs } from '../support/local-sqs/local-sqs';
import { uniqueName } from '../support/rabbitmq';

const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };
const FAST = { region: 'us-east-1', wait_time_seconds: 1, polling_interval: 0.05 };

function queue(name: string, overrides: Partial<QueueDeclaration> = {}): QueueDeclaration {
  return { name, durable: true, exclusive: false, autoDelete: false, arguments: {}, exchange: { name, type: 'direct', durable: true }, routingKey: name, ...overrides };
}

function message(routingKey: string, text: string, exchange = '') {
  return { exchange, routingKey, body: Buffer.from(text), properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers: {} } };
}

/**
 * The SQS broker on its own, on the local SQS-compatible server: the prefetch window, reject with
 * and without requeue, messages given back at close, queue depth, and start-up failures that say
 * what to check.
 */
describe('SQS broker', () => {
  let sqs: LocalSqsServer;
  let broker: SqsBroker;

  beforeAll(async () => {
    sqs = await startLocalSqs();
    broker = createBroker(sqsBrokerUrl(sqs, { ...FAST, visibility_timeout: 30 }), { logger: SILENT }) as SqsBroker;
    await broker.connect();
  });

  afterAll(async () => {
    await broker?.close();
    await sqs?.close();
  });

  it('never holds more unsettled messages than the prefetch window, and takes more as they are acked', async () => {
    const name = uniqueName('sqs-prefetch');
    await broker.declareQueue(queue(name));
    await Promise.all(Array.from({ length: 25 }, (_, index) => broker.publish(message(name, `m${index}`))));
    const held: DeliveredMessage[] = [];
    const consumer = await broker.consume({ queues: [queue(name)], prefetch: 4, onMessage: (delivered) => held.push(delivered) });
    await eventually(() => (held.length === 4 ? true : undefined), 5_000, 'four messages');
    await new Promise((resolve) => setTimeout(resolve, 300)); // a window with room would have filled by now
    expect(held).toHaveLength(4);
    expect(sqs.counts(name)).toMatchObject({ inFlight: 4, visible: 21 });
    for (const delivered of held.splice(0)) delivered.ack();
    await eventually(() => (held.length === 4 ? true : undefined), 5_000, 'four more after the acks');
    await consumer.cancel();
    for (const delivered of held) delivered.ack();
    await eventually(() => (sqs.counts(name)!.inFlight === 0 ? true : undefined), 5_000, 'the acks to delete');
    expect(sqs.counts(name)).toMatchObject({ visible: 17 });
  });

  it('gives a rejected message back at once with requeue (redelivered), and deletes it without', async () => {
    const name = uniqueName('sqs-reject');
    await broker.declareQueue(queue(name));
    await broker.publish(message(name, 'once'));
    const seen: DeliveredMessage[] = [];
    const consumer = await broker.consume({ queues: [queue(name)], prefetch: 1, onMessage: (delivered) => seen.push(delivered) });
    await eventually(() => (seen.length === 1 ? true : undefined), 5_000, 'the message');
    expect(seen[0].deliveryInfo).toMatchObject({ redelivered: false, queue: name, routingKey: name });
    seen[0].reject(true);
    await eventually(() => (seen.length === 2 ? true : undefined), 5_000, 'the message again');
    expect(seen[1].deliveryInfo.redelivered).toBe(true);
    expect(seen[1].body.toString()).toBe('once');
    seen[1].reject(false);
    await eventually(() => (sqs.counts(name)!.inFlight === 0 ? true : undefined), 5_000, 'the delete');
    expect(sqs.counts(name)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
    await consumer.cancel();
  });

  it('makes unsettled messages visible again when it closes, rather than after the visibility timeout', async () => {
    const name = uniqueName('sqs-close');
    const other = createBroker(sqsBrokerUrl(sqs, { ...FAST, visibility_timeout: 30 }), { logger: SILENT });
    await other.connect();
    await other.declareQueue(queue(name));
    await other.publish(message(name, 'held'));
    const held: DeliveredMessage[] = [];
    await other.consume({ queues: [queue(name)], prefetch: 1, onMessage: (delivered) => held.push(delivered) });
    await eventually(() => (held.length === 1 ? true : undefined), 5_000, 'the message');
    expect(sqs.counts(name)).toMatchObject({ inFlight: 1 });
    await other.close();
    expect(sqs.counts(name)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
  });

  it('reports queue depth without creating the queue, and routes through direct bindings declared in this process', async () => {
    const missing = uniqueName('sqs-missing');
    expect(await broker.queueDepth(missing)).toBeNull();
    expect(sqs.counts(missing)).toBeNull();
    const name = uniqueName('sqs-bound');
    await broker.declareQueue(queue(name, { exchange: { name: 'jobs', type: 'direct', durable: true }, routingKey: 'reports' }));
    await broker.publish(message('reports', 'via the exchange', 'jobs'));
    await expect(broker.publish(message('nobody', 'lost', 'jobs'))).rejects.toThrow(/returned as unroutable \(no queue declared in this process is bound to it/);
    expect(await broker.queueDepth(name)).toBe(1);
  });

  it('refuses fanout and topic exchanges and priority queues when they are declared', async () => {
    await expect(broker.declareQueue(queue('pidbox', { exchange: { name: 'celery.pidbox', type: 'fanout', durable: false } }))).rejects.toThrow(/of type fanout is not supported on the SQS broker .* cannot broadcast/);
    await expect(broker.declareExchange({ name: 'celeryev', type: 'topic', durable: true })).rejects.toThrow(/of type topic is not supported on the SQS broker .* direct exchanges only/);
    await expect(broker.declareQueue(queue(uniqueName('sqs-prio'), { arguments: { 'x-max-priority': 10 } }))).rejects.toThrow(/with x-max-priority is not supported on the SQS broker.*SQS has no priorities/);
  });

  it('refuses a queue missing from predefinedQueues, naming the SQS name to add', async () => {
    const predefined = createBroker(sqsBrokerUrl(sqs, FAST), { logger: SILENT, sqs: { predefinedQueues: { 'known-queue': { url: `${sqs.endpoint}/000000000000/known-queue` } } } });
    await expect(predefined.publish(message('other.queue', 'x'))).rejects.toThrow(/Queue "other.queue" \(SQS name "other-queue"\) is not in predefinedQueues.*add "other-queue": \{ url: … \}/s);
    await predefined.close();
  });

  it('fails at start-up on an unreachable endpoint, saying what to check, the secret masked', async () => {
    const unreachable = createBroker('sqs://AKIAEXAMPLE:top%2Fsecret@127.0.0.1:1?region=us-east-1', { logger: SILENT, connectTimeoutMs: 3_000 });
    const error = await unreachable.connect().then(() => undefined, (failure: Error) => failure);
    await unreachable.close();
    expect(error?.name).toBe('BrokerConnectionError');
    expect(error?.message).toMatch(/Could not reach SQS at http:\/\/127\.0\.0\.1:1 \(sqs:\/\/AKIAEXAMPLE:\*\*\*@127\.0\.0\.1:1.*Expected valid AWS credentials/s);
    expect(error?.message).not.toContain('secret');
  }, 20_000);

  it('builds a worker without remote control, mingle or events on SQS, and says so in its log', async () => {
    const warnings: string[] = [];
    const logger = { log: () => undefined, warn: (line: string) => void warnings.push(line), error: () => undefined };
    const runtime = await createCeleryRuntime({ broker: sqsBrokerUrl(sqs, FAST), worker: { queues: [uniqueName('sqs-runtime')], mingle: true } }, { logger });
    try {
      expect(runtime.parts.control).toBeNull();
      expect(runtime.parts.workerEvents).toBeNull();
      expect(warnings).toContainEqual(expect.stringMatching(/Remote control, mingle and worker events are off: sqs:\/\/test:\*\*\*@127\.0\.0\.1:\d+.* cannot broadcast \(no fanout\), as in Celery on SQS/));
    } finally {
      await runtime.parts.broker.close();
    }
  });
});
