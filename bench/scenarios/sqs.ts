import { Redis } from 'ioredis';
import { SqsBroker } from '../../lib/broker/sqs/sqs-broker';
import { type LocalSqsServer, startLocalSqsServer } from '../../test/support/local-sqs/local-sqs-server';
import { Bench, repeat } from '../support/bench-context';
import { onCleanup } from '../support/cleanup';
import { startNodeWorker, startPythonWorker, type WorkerProcess } from '../support/processes';
import { noopMessage, pollUntil, uniqueName } from '../support/rabbit';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const DRAIN = '14. SQS: drain, no result';
const DRAIN_RESULTS = '14. SQS: drain, results in Redis';
const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };
/** Sends in flight at once while filling a queue: each is an HTTP request to the server. */
const WINDOW = 100;

/**
 * 14. SQS as broker (kombu's SQS transport) on the local SQS-compatible server (in this process;
 * test/support/local-sqs): draining pre-queued no-op tasks, without and with results (Redis,
 * BENCH_REDIS_RESULTS_URL, flushed afterwards), by
 * our worker beside Celery prefork -c 2 and solo, same run, same server. The server's HTTP
 * round trips dominate: absolute numbers say little about AWS, the ratio does.
 */
export async function sqsScenario(bench: Bench): Promise<void> {
  const { config } = bench;
  const server = await startLocalSqsServer(0);
  const url = `sqs://bench:bench@127.0.0.1:${server.port}`;
  const broker = new SqsBroker({ url, logger: SILENT });
  await broker.connect();
  const release = onCleanup('the local SQS server and the Redis results', async () => {
    await broker.close();
    await server.close();
    const results = new Redis(config.redisResultsUrl);
    await results.flushdb().catch(() => undefined);
    results.disconnect();
  });
  try {
    for (const withResults of [false, true]) {
      const backend = withResults ? config.redisResultsUrl : '';
      const subjects: { key: string; subject: string; start: (queue: string) => Promise<WorkerProcess> }[] = [
        {
          key: `sqs.drain${withResults ? '-results' : ''}.ours`,
          subject: 'nestjs-celery worker (own process)',
          start: (queue) => startNodeWorker(config, { queue, backend: withResults ? backend : false, ignoreResult: !withResults, brokerUrl: url }),
        },
      ];
      if (config.pythonCelery) {
        subjects.push(
          {
            key: `sqs.drain${withResults ? '-results' : ''}.python-prefork`,
            subject: 'Celery -P prefork -c 2',
            start: (queue) => startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: backend, ignoreResult: !withResults, brokerUrl: url }),
          },
          {
            key: `sqs.drain${withResults ? '-results' : ''}.python-solo`,
            subject: 'Celery -P solo',
            start: (queue) => startPythonWorker(config, { queue, pool: 'solo', resultBackend: backend, ignoreResult: !withResults, brokerUrl: url }),
          },
        );
      }
      for (const subject of subjects) {
        const rates = await repeat(config.repeats, async () => {
          const queue = uniqueName('sqs-drain');
          await prequeue(broker, queue, config.sqsDrainTasks, !withResults);
          return measureSqsDrain(server, queue, config.sqsDrainTasks, () => subject.start(queue));
        });
        addRow(bench, { key: subject.key, scenario: withResults ? DRAIN_RESULTS : DRAIN, subject: subject.subject, unit: 'tasks/s', summary: summarize(rates), note: `${config.sqsDrainTasks} tasks` });
      }
    }
  } finally {
    await release();
  }
}

/** Sends `count` no-op task messages to the queue, a window at a time. */
async function prequeue(broker: SqsBroker, queue: string, count: number, ignoreResult: boolean): Promise<void> {
  await broker.declareQueue({ name: queue, durable: true, exclusive: false, autoDelete: false, arguments: {} });
  for (let sent = 0; sent < count; ) {
    const batch = Math.min(WINDOW, count - sent);
    await Promise.all(Array.from({ length: batch }, () => broker.publish(noopMessage(queue, { ignoreResult }))));
    sent += batch;
  }
}

/**
 * Tasks per second from the first message taken until every message is deleted (acked): the
 * server's own counts, which include messages in flight, unlike ApproximateNumberOfMessages.
 */
async function measureSqsDrain(server: LocalSqsServer, queue: string, total: number, start: () => Promise<WorkerProcess>): Promise<number> {
  const starting = start();
  starting.catch(() => undefined);
  const left = () => {
    const counts = server.counts(queue);
    return counts ? counts.visible + counts.inFlight + counts.delayed : total;
  };
  const startedAt = await pollUntil(() => left() < total, 5, 300_000, `a worker to start draining ${queue}`);
  const finishedAt = await pollUntil(() => left() === 0, 10, 300_000, `${total} tasks of ${queue} to be done`);
  const worker = await starting;
  await worker.stop();
  return total / ((finishedAt - startedAt) / 1000);
}
