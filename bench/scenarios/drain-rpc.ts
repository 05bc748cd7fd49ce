import { Bench } from '../support/bench-context';
import { onCleanup } from '../support/cleanup';
import { DrainSubject, interleavedDrainRuns } from '../support/drain';
import { startNodeWorker, startPythonWorker, WorkerProcess } from '../support/processes';
import { addRow } from '../support/report';
import { summarize } from '../support/stats';

const SCENARIO = '4. Drain, rpc:// results';

/** 4. Drain with every result sent back over rpc://, counted as the replies arrive: ours beside Python prefork -c 2. */
export async function drainRpcScenario(bench: Bench): Promise<void> {
  const { config, tools } = bench;
  const subject = (key: string, label: string, total: number, start: (queue: string) => () => Promise<WorkerProcess>): DrainSubject => ({
    key,
    subject: label,
    total,
    prepare: async (queue) => {
      const replies = await countReplies(bench);
      return { prequeue: { replyTo: replies.queue }, start: start(queue), done: async () => replies.count() >= total };
    },
  });
  const subjects = [
    subject('drain-rpc.ours', 'nestjs-celery worker (own process)', config.resultDrainTasks, (queue) => () =>
      startNodeWorker(config, { queue, backend: 'rpc://', ignoreResult: false }),
    ),
  ];
  if (config.pythonCelery) {
    subjects.push(
      subject('drain-rpc.python-prefork', 'Celery -P prefork -c 2, rpc://', config.pythonDrainTasks, (queue) => () =>
        startPythonWorker(config, { queue, pool: 'prefork', concurrency: 2, resultBackend: 'rpc://', ignoreResult: false }),
      ),
    );
  }
  const allRates = await interleavedDrainRuns(tools, config.repeats, subjects, 'drainrpc');
  for (const [index, item] of subjects.entries()) {
    const rates = allRates[index];
    addRow(bench, { key: item.key, scenario: SCENARIO, subject: item.subject, unit: 'tasks/s', summary: summarize(rates), note: `${item.total} tasks` });
  }
}

/** A reply queue consumed here without acks (as Celery's client does), counting replies. */
async function countReplies(bench: Bench): Promise<{ queue: string; count: () => number }> {
  const queue = await bench.tools.replyQueue();
  const channel = await bench.tools.channel();
  let received = 0;
  await channel.consume(queue, () => void received++, { noAck: true });
  onCleanup(`consumer of ${queue}`, () => channel.close().catch(() => undefined));
  return { queue, count: () => received };
}
