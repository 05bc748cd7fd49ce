import { INestApplicationContext } from '@nestjs/common';
import { connect } from 'amqplib';
import { Client } from 'pg';
import { CeleryClient, chord } from '../../lib';
import { SampleProcess, startSampleProcess } from '../support/built-app';
import { eventually, startCeleryApp } from '../support/celery-app';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { queueCounts } from '../support/rabbitmq-inspection';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

const CHORDS = 40;

/**
 * The chord join under a race: header tasks finish at the same moment on two worker processes,
 * and each chord's body must still be sent exactly once. The bodies go to a queue nobody
 * consumes, so every body message that was ever published can be counted there.
 */
describe('chord join with two worker processes', () => {
  let env: TestEnvironment;
  const bodyQueue = uniqueName('it-chord-bodies');
  const workers: SampleProcess[] = [];
  let producer: INestApplicationContext;

  beforeAll(async () => {
    env = await createTestEnvironment('it-chord-race');
    for (const name of ['race1', 'race2']) {
      const worker = startSampleProcess('main-worker', {
        CELERY_BROKER_URL: RABBITMQ_URL,
        CELERY_RESULT_BACKEND: env.databaseUrl,
        CELERY_QUEUES: env.queue,
        CELERY_CONCURRENCY: '8',
        CELERY_HOSTNAME: `${name}@%h`,
      });
      workers.push(worker);
      await worker.waitForOutput(/consuming/);
    }
    producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue, worker: false });
  }, 60_000);

  afterAll(async () => {
    await producer?.close();
    for (const worker of workers) {
      worker.child.kill('SIGTERM');
      await worker.exited;
    }
    await deleteQueues(bodyQueue);
    await deleteExchanges(bodyQueue);
    await env?.dispose();
  });

  it(`sends each of ${CHORDS} chord bodies exactly once, with the header results in order`, async () => {
    const celery = producer.get(CeleryClient);
    for (let index = 0; index < CHORDS; index++) {
      const header = [celery.signature('tasks.add', [index, index]), celery.signature('tasks.add', [index, 1])];
      await chord(header, celery.signature('tasks.xsum').set({ queue: bodyQueue })).applyAsync();
    }
    await eventually(async () => (((await queueCounts()).get(bodyQueue)?.ready ?? 0) >= CHORDS ? true : undefined), 30_000, `${CHORDS} chord bodies`);
    await new Promise((resolve) => setTimeout(resolve, 1_000)); // room for a duplicate to show up

    const connection = await connect(RABBITMQ_URL);
    const bodies: { id: string; args: unknown[] }[] = [];
    try {
      const channel = await connection.createChannel();
      for (let message = await channel.get(bodyQueue, { noAck: true }); message; message = await channel.get(bodyQueue, { noAck: true })) {
        bodies.push({ id: String(message.properties.headers!.id), args: JSON.parse(message.content.toString())[0] });
      }
    } finally {
      await connection.close();
    }
    expect(bodies).toHaveLength(CHORDS);
    expect(new Set(bodies.map((body) => body.id)).size).toBe(CHORDS);
    const sums = bodies.map((body) => (body.args[0] as number[]).join('+')).sort();
    expect(sums).toEqual(Array.from({ length: CHORDS }, (_, index) => `${index * 2}+${index + 1}`).sort());

    // Both processes did run header tasks: the race was real.
    const client = new Client({ connectionString: env.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query("SELECT DISTINCT split_part(worker, '@', 1) AS node FROM celery_taskmeta WHERE name = 'tasks.add'");
      expect(rows.map((row) => row.node).sort()).toEqual(['race1', 'race2']);
    } finally {
      await client.end();
    }
  }, 60_000);
});
