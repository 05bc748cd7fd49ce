import { execFileSync } from 'node:child_process';
import type { DeliveredMessage, QueueDeclaration } from '../../lib/broker/broker.interface';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { bindQueueToDelayedDelivery, delayReturnRoutingKey, queueDelayBindings } from '../../lib/broker/delayed-delivery/delayed-delivery-bindings';
import { DELAY_ENTRY_EXCHANGE, delayLevelName, MAX_DELAY_SECONDS } from '../../lib/broker/delayed-delivery/delayed-delivery-names';
import { declareDelayedDeliveryTopology, delayedDeliveryTopology } from '../../lib/broker/delayed-delivery/delayed-delivery-topology';
import { delayedRoutingKey, hasDelayPrefix, withoutDelayPrefix } from '../../lib/broker/delayed-delivery/delayed-routing-key';
import { MemoryBroker } from '../../lib/broker/memory/memory-broker';
import type { ResultBackend } from '../../lib/backend/result-backend.interface';
import { EMPTY_EMBED } from '../../lib/protocol/signature-dict';
import type { TaskResultMeta } from '../../lib/protocol/result-meta';
import type { TaskMessage } from '../../lib/protocol/task-message';
import { SILENT_LOGGER } from '../../lib/utils/logger';
import { EtaParking } from '../../lib/worker/eta-parking';
import { ResultRecorder } from '../../lib/worker/result-recorder';
import { retryMessage } from '../../lib/worker/retry-message';

/**
 * kombu's `calculate_routing_key` and `declare_native_delayed_delivery_exchanges_and_queues`
 * (kombu 5.5, `kombu/transport/native_delayed_delivery.py`), re-typed here because the Debian
 * Celery 5.2.6 has no such module: the declarations are recorded instead of sent.
 */
const KOMBU_REFERENCE = String.raw`
import json, re, sys
MAX_NUMBER_OF_BITS_TO_USE = 28
DELAYED_DELIVERY_PREFIX_REGEX = re.compile(r'^(?:[01]\.){%d}' % MAX_NUMBER_OF_BITS_TO_USE)

def calculate_routing_key(countdown, routing_key):
    routing_key = DELAYED_DELIVERY_PREFIX_REGEX.sub('', routing_key)
    return '.'.join(f'{countdown:0{MAX_NUMBER_OF_BITS_TO_USE}b}') + f'.{routing_key}'

def level_name(level):
    return f"celery_delayed_{level}"

def declarations(queue_type):
    queues, exchange_bindings = [], []
    routing_key = "1.#"
    for level in range(27, -1, -1):
        arguments = {
            "x-queue-type": queue_type,
            "x-overflow": "reject-publish",
            "x-message-ttl": pow(2, level) * 1000,
            "x-dead-letter-exchange": level_name(level - 1) if level > 0 else "celery_delayed_delivery",
        }
        if queue_type == 'quorum':
            arguments["x-dead-letter-strategy"] = "at-least-once"
        queues.append({"name": level_name(level), "arguments": arguments, "exchange": level_name(level), "routingKey": routing_key})
        routing_key = "*." + routing_key
    routing_key = "0.#"
    for level in range(27, 0, -1):
        exchange_bindings.append({"destination": level_name(level - 1), "source": level_name(level), "routingKey": routing_key})
        routing_key = "*." + routing_key
    exchange_bindings.append({"destination": "celery_delayed_delivery", "source": level_name(0), "routingKey": routing_key})
    return {"queues": queues, "exchangeBindings": exchange_bindings}

request = json.load(sys.stdin)
print(json.dumps({
    "routingKeys": [calculate_routing_key(countdown, key) for countdown, key in request["routingKeys"]],
    "quorum": declarations("quorum"),
    "classic": declarations("classic"),
}))
`;

const ROUTING_KEY_CASES: Array<[number, string]> = [
  [1, 'celery'],
  [2, 'celery'],
  [13, 'celery'],
  [60, 'celery'],
  [61, 'media.images.resize'],
  [3600, 'celery'],
  [86_400, 'tasks.high'],
  [2 ** 27, 'celery'],
  [MAX_DELAY_SECONDS, 'celery'],
  // A key that already went through the levels loses its old prefix (kombu issue #2556).
  [90, `${'0.'.repeat(27)}1.celery`],
];

const kombu = JSON.parse(
  execFileSync('/usr/bin/python3', ['-c', KOMBU_REFERENCE], { input: JSON.stringify({ routingKeys: ROUTING_KEY_CASES }) }).toString(),
) as {
  routingKeys: string[];
  quorum: { queues: Array<Record<string, unknown>>; exchangeBindings: Array<Record<string, unknown>> };
  classic: { queues: Array<Record<string, unknown>>; exchangeBindings: Array<Record<string, unknown>> };
};

/** Lets the in-process broker's setImmediate deliveries run (they are not faked). */
async function flush(): Promise<void> {
  for (let round = 0; round < 5; round += 1) await new Promise((resolve) => setImmediate(resolve));
}

describe('delayed delivery routing keys', () => {
  it('are kombu calculate_routing_key', () => {
    expect(ROUTING_KEY_CASES.map(([countdown, key]) => delayedRoutingKey(countdown, key))).toEqual(kombu.routingKeys);
  });

  it('refuse what kombu refuses, and what 28 digits cannot hold', () => {
    expect(() => delayedRoutingKey(0, 'celery')).toThrow(RangeError);
    expect(() => delayedRoutingKey(1.5, 'celery')).toThrow(RangeError);
    expect(() => delayedRoutingKey(MAX_DELAY_SECONDS + 1, 'celery')).toThrow(RangeError);
    expect(() => delayedRoutingKey(5, '')).toThrow(RangeError);
  });

  it('strip to the key the message was sent with', () => {
    const delayed = delayedRoutingKey(3600, 'media.images');
    expect(hasDelayPrefix(delayed)).toBe(true);
    expect(withoutDelayPrefix(delayed)).toBe('media.images');
    expect(withoutDelayPrefix('media.images')).toBe('media.images');
    expect(hasDelayPrefix('1.0.celery')).toBe(false);
  });
});

describe('delayed delivery topology', () => {
  it.each(['quorum', 'classic'] as const)('declares what kombu declares, %s queues', (queueType) => {
    const topology = delayedDeliveryTopology(queueType);
    const queues = topology.queues.map(({ name, arguments: args, exchange, routingKey }) => ({ name, arguments: args, exchange: exchange?.name, routingKey }));
    expect(queues).toEqual(kombu[queueType].queues);
    expect(topology.exchangeBindings).toEqual(kombu[queueType].exchangeBindings);
    expect(topology.queues.every((queue) => queue.durable && !queue.exclusive && !queue.autoDelete)).toBe(true);
    expect(topology.exchanges.map((exchange) => exchange.name)).toEqual([...Array.from({ length: 28 }, (_, index) => delayLevelName(27 - index)), 'celery_delayed_delivery']);
    expect(topology.exchanges.every((exchange) => exchange.type === 'topic' && exchange.durable)).toBe(true);
  });

  it('binds a direct queue to celery_delayed_delivery itself, and a topic queue through its exchange as kombu does', () => {
    const direct = celeryTaskQueue('tasks.high');
    expect(queueDelayBindings(direct)).toEqual({
      queueBindings: [{ ...direct, exchange: { name: 'celery_delayed_delivery', type: 'topic', durable: true, autoDelete: false }, routingKey: `${'*.'.repeat(28)}tasks.high` }],
      exchangeBindings: [],
    });
    const topic = celeryTaskQueue('media', { exchange: 'media', exchangeType: 'topic', routingKey: 'media.#' });
    expect(queueDelayBindings(topic)).toEqual({
      queueBindings: [{ ...topic, routingKey: '#.media.#' }],
      exchangeBindings: [{ destination: 'media', source: 'celery_delayed_delivery', routingKey: '#.media.#' }],
    });
    expect(queueDelayBindings(celeryTaskQueue('all', { exchange: 'all', exchangeType: 'topic', routingKey: '#' })).exchangeBindings[0].routingKey).toBe('#');
  });

  it('brings a parked message back only with a key that reaches its own queue', () => {
    const info = (routingKey: string) => ({ exchange: 'x', routingKey, redelivered: false, queue: 'q' });
    expect(delayReturnRoutingKey(celeryTaskQueue('celery'), info('celery'))).toBe('celery');
    expect(delayReturnRoutingKey(celeryTaskQueue('jobs', { routingKey: 'jobs.key' }), info('jobs'))).toBe('jobs.key');
    const topic = celeryTaskQueue('media', { exchange: 'media', exchangeType: 'topic', routingKey: 'media.#' });
    expect(delayReturnRoutingKey(topic, info('media.images'))).toBe('media.images');
    expect(delayReturnRoutingKey(topic, info(delayedRoutingKey(5, 'media.images')))).toBe('media.images');
    expect(delayReturnRoutingKey(topic, info('other.images'))).toBeUndefined();
    expect(delayReturnRoutingKey(celeryTaskQueue('fan', { exchange: 'fan', exchangeType: 'fanout' }), info('fan'))).toBeUndefined();
  });
});

describe('delayed delivery on the in-process broker', () => {
  let broker: MemoryBroker;

  beforeEach(async () => {
    jest.useFakeTimers({ doNotFake: ['setImmediate', 'nextTick', 'queueMicrotask'] });
    broker = new MemoryBroker();
    await declareDelayedDeliveryTopology(broker, 'quorum');
  });

  afterEach(async () => {
    await broker.close();
    jest.useRealTimers();
  });

  async function consume(queue: QueueDeclaration): Promise<DeliveredMessage[]> {
    const received: DeliveredMessage[] = [];
    await broker.consume({ queues: [queue], prefetch: 0, onMessage: (message) => received.push(message) });
    return received;
  }

  it('holds a message exactly its countdown in the levels, then routes it to a direct queue', async () => {
    const queue = celeryTaskQueue('work');
    await bindQueueToDelayedDelivery(broker, queue);
    const received = await consume(queue);
    // 13 s = 8 + 4 + 1: levels 3, 2 and 0.
    await broker.publish({ exchange: DELAY_ENTRY_EXCHANGE, routingKey: delayedRoutingKey(13, 'work'), body: Buffer.from('x'), properties: { headers: { id: 'a' } } });
    await jest.advanceTimersByTimeAsync(12_000);
    await flush();
    expect(received).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(999);
    await flush();
    expect(received).toHaveLength(0);
    await jest.advanceTimersByTimeAsync(1);
    await flush();
    expect(received).toHaveLength(1);
    expect(received[0].deliveryInfo).toMatchObject({ exchange: 'celery_delayed_delivery', routingKey: delayedRoutingKey(13, 'work'), queue: 'work' });
    expect(received[0].properties.headers).toMatchObject({ id: 'a' });
  });

  it('routes through a topic queue\'s exchange as kombu binds it', async () => {
    const queue = celeryTaskQueue('media', { exchange: 'media', exchangeType: 'topic', routingKey: 'media.#' });
    await bindQueueToDelayedDelivery(broker, queue);
    const received = await consume(queue);
    await broker.publish({ exchange: DELAY_ENTRY_EXCHANGE, routingKey: delayedRoutingKey(2, 'media.images'), body: Buffer.from('x'), properties: {} });
    await jest.advanceTimersByTimeAsync(2000);
    await flush();
    expect(received.map((message) => withoutDelayPrefix(message.deliveryInfo.routingKey))).toEqual(['media.images']);
  });

  it('EtaParking parks a far-ETA message (acked, out of the queue) and it comes back by its eta', async () => {
    const queue = celeryTaskQueue('parked');
    const parking = new EtaParking(broker, { thresholdSeconds: 60, queueType: 'quorum' }, SILENT_LOGGER);
    await parking.prepare([queue]);
    const received = await consume(queue);
    await broker.publish({ exchange: '', routingKey: 'parked', body: Buffer.from('body'), properties: { contentType: 'application/json', headers: { id: 'p', eta: 'x' }, priority: 3 } });
    await flush();
    const eta = new Date(Date.now() + 90_500);
    expect(parking.wants(new Date(Date.now() + 60_000))).toBe(false);
    expect(parking.wants(eta)).toBe(true);
    expect(await parking.park(received[0], eta)).toBe(true);
    await jest.advanceTimersByTimeAsync(89_999);
    await flush();
    expect(received).toHaveLength(1);
    await jest.advanceTimersByTimeAsync(1);
    await flush();
    expect(received).toHaveLength(2);
    expect(received[1].body.toString()).toBe('body');
    expect(received[1].properties).toMatchObject({ contentType: 'application/json', headers: { id: 'p', eta: 'x' }, priority: 3 });
    expect(Date.now()).toBeLessThan(eta.getTime()); // back at most a second early, held for the rest
  });

  it('EtaParking does nothing when off, and leaves a fanout queue\'s message to be held', async () => {
    const off = new EtaParking(broker, { thresholdSeconds: 0, queueType: 'quorum' }, SILENT_LOGGER);
    await off.prepare([celeryTaskQueue('celery')]);
    expect(off.wants(new Date(Date.now() + 3_600_000))).toBe(false);

    const fanout = celeryTaskQueue('fan', { exchange: 'fan', exchangeType: 'fanout' });
    const warnings: string[] = [];
    const parking = new EtaParking(broker, { thresholdSeconds: 1, queueType: 'quorum' }, { ...SILENT_LOGGER, warn: (line) => warnings.push(line) });
    await parking.prepare([fanout]);
    const received = await consume(fanout);
    await broker.publish({ exchange: 'fan', routingKey: 'anything', body: Buffer.from('x'), properties: {} });
    await flush();
    expect(await parking.park(received[0], new Date(Date.now() + 10_000))).toBe(false);
    expect(warnings).toHaveLength(1);
  });
});

describe('a task that came back from the delay queues', () => {
  const message: TaskMessage = {
    id: 'id-1', task: 'demo.task', args: [], kwargs: {}, embed: EMPTY_EMBED, rootId: 'id-1', parentId: null, group: null,
    groupIndex: null, retries: 0, eta: null, expires: null, timeLimit: [null, null], shadow: null, origin: null, ignoreResult: false,
    argsrepr: null, kwargsrepr: null, customHeaders: {}, replyTo: null, correlationId: null, priority: null,
  };
  // The exchange is the dead-letter exchange of the last level it waited in, not always celery_delayed_delivery.
  const deliveryInfo = { exchange: 'celery_delayed_1', routingKey: delayedRoutingKey(6, 'work'), redelivered: false, queue: 'work' };

  it('is retried straight to the queue it came from', () => {
    expect(retryMessage(message, deliveryInfo, new Date(), 'gen1@host')).toMatchObject({ exchange: '', routingKey: 'work' });
  });

  it('has its results stored with the queue\'s routing key, without the delay digits', async () => {
    const stored: TaskResultMeta[] = [];
    const backend = { storeResult: async (meta: TaskResultMeta) => void stored.push(meta) } as unknown as ResultBackend;
    await new ResultRecorder(backend, 'celery@host').success(message, deliveryInfo.routingKey, 1);
    expect(stored[0].queue).toBe('work');
  });
});
