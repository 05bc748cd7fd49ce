import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import type { Redis } from 'ioredis';
import type { DeliveredMessage } from '../../lib/broker/broker.interface';
import { RedisListConsumer } from '../../lib/broker/redis/redis-list-consumer';
import type { UnackedMessages } from '../../lib/broker/redis/unacked-messages';

/** A task message as kombu 5.2.4 wrote it (test/fixtures/redis), and the list it was in. */
const kombu = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'redis', 'kombu-redis-5.2.4.json'), 'utf8'));
const [LIST, [RAW]] = Object.entries(kombu.task_lists as Record<string, string[]>)[0];

/**
 * The consumer hands a BRPOP'd message over as soon as its unacked record is sent, not when Redis
 * has answered it. These pin what happens when that record fails: nothing is lost, and the
 * message goes back to its list only when nobody settled it already. Redis itself is faked: the
 * fault (a refused record) cannot be caused on demand on a real server without breaking the rest.
 */
describe('RedisListConsumer: a message handed over while its record is on its way', () => {
  let record: { resolve: () => void; reject: (error: Error) => void };
  let calls: string[];
  let delivered: DeliveredMessage[];
  let consumer: RedisListConsumer;
  const warnings: string[] = [];

  beforeEach(() => {
    calls = [];
    delivered = [];
    let popped = false;
    const reader = {
      brpop: async () => {
        if (!popped) {
          popped = true;
          return [LIST, RAW];
        }
        await new Promise((resolve) => setTimeout(resolve, 5));
        return null;
      },
    };
    const client = { rpush: async (list: string, raw: string) => (calls.push(`rpush ${list === LIST && raw === RAW}`), 1) };
    const unacked = {
      takeBatch: async () => [],
      restoreVisible: async () => 0,
      record: () => {
        calls.push('record');
        return new Promise<void>((resolve, reject) => (record = { resolve, reject }));
      },
      ack: async () => void calls.push('ack'),
      restore: async () => (calls.push('restore'), true),
    };
    const logger = { log: () => undefined, warn: (line: string) => void warnings.push(line), error: (line: string) => void warnings.push(line) };
    consumer = new RedisListConsumer(reader as unknown as Redis, client as unknown as Redis, unacked as unknown as UnackedMessages, {
      queues: ['capture-178619e1'],
      prefetch: 0,
      visibilityTimeoutSeconds: 60,
      onMessage: (message) => delivered.push(message),
    }, logger);
  });

  afterEach(() => consumer.cancel());

  const handedOver = async () => {
    while (delivered.length === 0) await new Promise((resolve) => setImmediate(resolve));
    return delivered[0];
  };
  /** Lets every callback already queued run (the fakes answer at once; nothing here waits on time). */
  const settled = async () => {
    for (let turn = 0; turn < 10; turn++) await new Promise((resolve) => setImmediate(resolve));
  };

  it('hands the message over before the record is answered, and acks only after it', async () => {
    const message = await handedOver();
    expect(calls).toEqual(['record']);
    message.ack();
    await settled();
    expect(calls).toEqual(['record']);
    record.resolve();
    await settled();
    expect(calls).toEqual(['record', 'ack']);
  });

  it('puts an unsettled message back at the head of its list when its record fails (it may run twice; it is never lost)', async () => {
    const message = await handedOver();
    record.reject(new Error('OOM command not allowed'));
    await settled();
    expect(calls).toEqual(['record', 'rpush true']);
    expect(warnings.at(-1)).toContain('may run twice');
    message.reject(true); // a requeue now must not put back a second copy
    await settled();
    expect(calls.filter((call) => call.startsWith('rpush'))).toHaveLength(1);
  });

  it('does not put back a message acked before its record failed', async () => {
    const message = await handedOver();
    message.ack();
    record.reject(new Error('OOM command not allowed'));
    await settled();
    expect(calls).toEqual(['record']);
  });

  it('puts back a message rejected with requeue before its record failed, instead of restoring a record that is not there', async () => {
    const message = await handedOver();
    message.reject(true);
    record.reject(new Error('OOM command not allowed'));
    await settled();
    expect(calls).toEqual(['record', 'rpush true']);
  });
});
