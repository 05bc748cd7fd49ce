import { NOOP_TASK, noopMessage } from '../support/rabbit';
import { Bench } from '../support/bench-context';
import { startProducer } from '../support/producer-app';
import { runPythonScript, pythonEnvironment } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';
import { toPublishOptions } from '../../lib/broker/amqp/message-properties';
import type { CeleryClient } from '../../lib';

/** Sends in flight at once, for our client and raw amqplib alike. */
export const WINDOW = 1000;

/**
 * 1. Publish: our client's send() with publisher confirms, beside raw amqplib publishing messages
 * of the same size on a confirm channel, beside Python's apply_async with confirm_publish.
 */
export async function publishScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const queue = await tools.taskQueue('publish');
  const count = config.publishTasks;

  const producer = await startProducer(config.rabbitmqUrl, false);
  await producer.client.send(NOOP_TASK, [], { queue, ignoreResult: true }); // declarations and connection out of the timing
  const sample = noopMessage(queue);
  const options = toPublishOptions(sample);
  const channel = await tools.confirmChannel();
  const ours: number[] = [];
  const bulk: number[] = [];
  const raw: number[] = [];
  const python: number[] = [];
  // Subjects take turns run by run, so a drift in the machine's load hits each of them alike.
  for (let run = 0; run < config.publishRepeats; run++) {
    await tools.purge(queue);
    ours.push(await timeRate(count, WINDOW, () => producer.client.send(NOOP_TASK, [], { queue }).then(() => undefined)));
    await tools.purge(queue);
    bulk.push(await bulkSendRate(producer.client, queue, count));
    await tools.purge(queue);
    raw.push(
      await timeRate(count, WINDOW, () =>
        new Promise<void>((resolve, reject) => {
          channel.publish('', queue, sample.body, options, (error: unknown) => (error ? reject(error) : resolve()));
        }),
      ),
    );
    if (!config.pythonCelery || run >= config.repeats) continue; // Python's run is slow and steady: BENCH_REPEATS of them
    await tools.purge(queue);
    const { seconds, count: sent } = await runPythonScript<{ seconds: number; count: number }>(
      config,
      'bench_publish.py',
      [queue, String(config.pythonPublishTasks)],
      pythonEnvironment(config, '', true),
      300_000,
    );
    python.push(sent / seconds);
  }
  await producer.close();
  await channel.close();
  addRow(bench, { key: 'publish.ours', scenario: '1. Publish (confirms)', subject: 'nestjs-celery send(), 1,000 in flight', unit: 'tasks/s', summary: summarize(ours) });
  addRow(bench, { key: 'publish.ours-bulk', scenario: '1. Publish (confirms)', subject: `nestjs-celery sendBulk(), ${WINDOW} a call`, unit: 'tasks/s', summary: summarize(bulk) });
  addRow(bench, {
    key: 'publish.raw',
    scenario: '1. Publish (confirms)',
    subject: 'raw amqplib, confirm channel',
    unit: 'msgs/s',
    summary: summarize(raw),
    note: `${sample.body.length} B body + same headers`,
  });
  if (config.pythonCelery) {
    addRow(bench, { key: 'publish.python', scenario: '1. Publish (confirms)', subject: 'Celery apply_async (confirm_publish)', unit: 'tasks/s', summary: summarize(python) });
  }
  await tools.purge(queue);
}

/** sendBulk() of WINDOW tasks at a time, one call after the other; returns tasks per second. */
async function bulkSendRate(client: CeleryClient, queue: string, count: number): Promise<number> {
  const startedAt = performance.now();
  for (let sent = 0; sent < count; sent += WINDOW) {
    const settled = await client.sendBulk(NOOP_TASK, Array.from({ length: Math.min(WINDOW, count - sent) }, () => []), { queue });
    if (settled.some((outcome) => outcome.status === 'rejected')) throw new Error('a bulk send was refused');
  }
  return count / ((performance.now() - startedAt) / 1000);
}

/** Runs `count` operations with at most `window` in flight; returns operations per second. */
export async function timeRate(count: number, window: number, operation: () => Promise<void>): Promise<number> {
  let started = 0;
  const startedAt = performance.now();
  const lane = async () => {
    while (started < count) {
      started++;
      await operation();
    }
  };
  await Promise.all(Array.from({ length: Math.min(window, count) }, lane));
  return count / ((performance.now() - startedAt) / 1000);
}
