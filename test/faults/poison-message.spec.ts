import { connect } from 'amqplib';
import { CeleryClient } from '../../lib';
import { POISON_MAX_RETRIES } from '../../sample-app/src/tasks/fault-drill.tasks';
import { eventually } from '../support/celery-app';
import { readRuns, reportCounts, storedStates, useFaultDrill } from '../support/fault-drill';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL } from '../support/rabbitmq';

const GOOD_TASKS = 500;
const POISON_TASKS = 5;

/**
 * Fault: poison messages among ordinary tasks. A task that crashes every time it runs ends in
 * FAILURE after its retry policy (3 retries) and runs exactly 1 + 3 times; a message that cannot
 * even be decoded is refused once (FAILURE stored, rejected without requeue, so a dead-letter
 * exchange gets it). Neither loops, and the 500 ordinary tasks all complete meanwhile.
 */
describe('fault: poison messages among 500 ordinary tasks', () => {
  const fault = useFaultDrill('poison');

  it('ends in FAILURE after the retry policy, never loops, and does not starve the other tasks', async () => {
    const worker = await fault.startWorker('poisoned@%h', { concurrency: 4 });
    const celery = fault.producer.get(CeleryClient);
    const good = new Map<string, string>();
    const poison = new Map<string, string>();
    for (let index = 0; index < GOOD_TASKS; index++) {
      if (index % (GOOD_TASKS / POISON_TASKS) === 0) {
        const key = `poison${poison.size}`;
        poison.set((await celery.send('drill.poison', [key])).id, key);
      }
      good.set((await celery.send('drill.record_run', [`good${index}`])).id, `good${index}`);
    }
    // A message no worker can decode: a task header, a body that is not JSON.
    const undecodableId = `undecodable-${Date.now()}`;
    const connection = await connect(RABBITMQ_URL);
    try {
      const channel = await connection.createConfirmChannel();
      channel.publish('', fault.env.queue, Buffer.from('{not json'), {
        contentType: 'application/json',
        contentEncoding: 'utf-8',
        headers: { lang: 'py', task: 'drill.record_run', id: undecodableId, retries: 0, argsrepr: '()', kwargsrepr: '{}' },
        correlationId: undecodableId,
        deliveryMode: 2,
      });
      await channel.waitForConfirms();
    } finally {
      await connection.close();
    }

    const ids = [...good.keys(), ...poison.keys(), undecodableId];
    const isReady = (state: string | undefined) => state === 'SUCCESS' || state === 'FAILURE';
    await eventually(async () => ([...(await storedStates(fault.env.databaseUrl, ids)).values()].filter(isReady).length === ids.length ? true : undefined), 120_000, 'every task ready');
    const states = await storedStates(fault.env.databaseUrl, ids);
    const poisonRows = await querySql(fault.env.databaseUrl, 'SELECT task_id, retries FROM celery_taskmeta WHERE task_id = ANY($1)', [[...poison.keys()]]);

    // Nothing runs again afterwards: the poison run counts stay put.
    const runsWhenReady = readRuns(fault.drillFile);
    await new Promise((resolve) => setTimeout(resolve, 2_000));
    const runs = readRuns(fault.drillFile);
    const goodStored = [...good.keys()].filter((id) => states.get(id) === 'SUCCESS').length;
    const poisonRuns = [...poison.values()].map((key) => runs.get(key)?.length ?? 0);
    reportCounts(
      'poison messages (acksLate, concurrency 4)',
      { sent: good.size, completed: [...good.values()].filter((key) => runs.has(key)).length, stored: goodStored, duplicates: [...good.values()].reduce((sum, key) => sum + Math.max(0, (runs.get(key)?.length ?? 0) - 1), 0), lost: good.size - goodStored },
      `${POISON_TASKS} crashing tasks FAILURE after ${poisonRuns.join('/')} runs, 1 undecodable message ${states.get(undecodableId)} and refused`,
    );

    expect(goodStored).toBe(GOOD_TASKS);
    for (const id of poison.keys()) expect(states.get(id)).toBe('FAILURE');
    for (const row of poisonRows) expect(row.retries).toBe(POISON_MAX_RETRIES);
    expect(poisonRuns).toEqual(Array(POISON_TASKS).fill(1 + POISON_MAX_RETRIES));
    for (const [key, pids] of runsWhenReady) expect(runs.get(key)).toEqual(pids);
    expect(states.get(undecodableId)).toBe('FAILURE');
    // Refused once, not requeued: the queue is empty and the worker said why, once.
    expect(worker.output().match(new RegExp(`Rejected task message [^\\n]*${undecodableId}`, 'g'))?.length).toBe(1);
    const check = await connect(RABBITMQ_URL);
    try {
      expect((await (await check.createChannel()).checkQueue(fault.env.queue)).messageCount).toBe(0);
    } finally {
      await check.close();
    }
  }, 240_000);
});
