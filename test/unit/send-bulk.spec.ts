import { QueueCatalog } from '../../lib/broker/queue-catalog';
import type { Broker, OutgoingMessage } from '../../lib/broker/broker.interface';
import { DisabledResultBackend } from '../../lib/backend/disabled-result-backend';
import { CeleryClient } from '../../lib/client/celery-client';
import { TaskRouter } from '../../lib/client/task-router';

/**
 * A broker that records each publishMany() batch, confirms every message but those whose first
 * argument is "refuse", and refuses to declare the queue named "broken".
 */
function recordingBroker(): { broker: Broker; batches: OutgoingMessage[][]; declared: string[] } {
  const batches: OutgoingMessage[][] = [];
  const declared: string[] = [];
  const broker = {
    declareQueue: async (queue: { name: string }) => {
      if (queue.name === 'broken') throw new Error('PRECONDITION_FAILED - inequivalent arg x-max-priority for queue broken');
      declared.push(queue.name);
    },
    publish: async () => undefined,
    publishMany: async (messages: readonly OutgoingMessage[]) => {
      batches.push([...messages]);
      return messages.map((message) => (JSON.parse(message.body.toString('utf8'))[0][0] === 'refuse' ? new Error('refused by the broker') : undefined));
    },
  } as unknown as Broker;
  return { broker, batches, declared };
}

describe('CeleryClient.sendBulk', () => {
  it('publishes a large batch in slices, in order, each call settled at its own index', async () => {
    const { broker, batches } = recordingBroker();
    const client = new CeleryClient({ broker, backend: new DisabledResultBackend(), queues: new QueueCatalog({}), defaultQueue: 'celery' });
    const argsList: unknown[][] = Array.from({ length: 250 }, (_, index) => [index]);
    argsList[5] = 'not an array' as never;
    argsList[150] = ['refuse'];
    const settled = await client.sendBulk('t.add', argsList);

    expect(settled).toHaveLength(250);
    expect(batches.length).toBeGreaterThan(1); // sliced: the broker got the first calls before the last were encoded
    const published = batches.flat().map((message) => JSON.parse(message.body.toString('utf8'))[0][0]);
    expect(published).toEqual(argsList.map((args) => (Array.isArray(args) ? args[0] : undefined)).filter((value) => value !== undefined));
    expect((settled[5] as PromiseRejectedResult).reason).toMatchObject({ name: 'InvalidSendOptionsError' });
    expect((settled[150] as PromiseRejectedResult).reason).toMatchObject({ message: 'refused by the broker' });
    const fulfilled = settled.flatMap((outcome, index) => (outcome.status === 'fulfilled' ? [[index, outcome.value.id]] : []));
    expect(fulfilled).toHaveLength(248);
    const idsByIndex = new Map(batches.flat().map((message) => [JSON.parse(message.body.toString('utf8'))[0][0], message.properties.headers!.id]));
    for (const [index, id] of fulfilled) expect(idsByIndex.get(index)).toBe(id);
  });

  it('refuses only the calls routed to a queue that cannot be declared, with the declaration error', async () => {
    const { broker, batches, declared } = recordingBroker();
    const router = new TaskRouter([(_name: string, args: readonly unknown[]) => (args[0] === 'broken' ? { queue: 'broken' } : null)]);
    const client = new CeleryClient({ broker, backend: new DisabledResultBackend(), queues: new QueueCatalog({}), defaultQueue: 'celery', router });
    const settled = await client.sendBulk('t.route', [['ok'], ['broken'], ['ok']]);

    expect(settled.map((outcome) => outcome.status)).toEqual(['fulfilled', 'rejected', 'fulfilled']);
    expect(String((settled[1] as PromiseRejectedResult).reason)).toContain('inequivalent arg x-max-priority');
    expect(declared).toEqual(['celery']);
    expect(batches.flat().map((message) => message.routingKey)).toEqual(['celery', 'celery']);
  });

  it('refuses the calls of a slice whose publish failed as a whole, each with the error, and goes on with the next', async () => {
    const batches: number[] = [];
    const broker = {
      declareQueue: async () => undefined,
      publish: async () => undefined,
      // A broker breaking publishMany's contract (settle each message, never the batch) on the first slice.
      publishMany: async (messages: readonly OutgoingMessage[]) => {
        batches.push(messages.length);
        if (batches.length === 1) throw new Error('the whole batch failed');
        return messages.map(() => undefined);
      },
    } as unknown as Broker;
    const client = new CeleryClient({ broker, backend: new DisabledResultBackend(), queues: new QueueCatalog({}), defaultQueue: 'celery' });
    const settled = await client.sendBulk('t.add', Array.from({ length: 150 }, (_, index) => [index]));

    expect(batches).toEqual([100, 50]);
    expect(settled.slice(0, 100).every((outcome) => outcome.status === 'rejected' && String(outcome.reason).includes('the whole batch failed'))).toBe(true);
    expect(settled.slice(100).every((outcome) => outcome.status === 'fulfilled')).toBe(true);
  });
});
