import { Bench } from '../support/bench-context';
import { createDatabase, lastResultId, rowsAfter, successesAfter } from '../support/postgres';
import { startNodeWorker, startPythonWorker, type WorkerProcess } from '../support/processes';
import { startProducer } from '../support/producer-app';
import { NOOP_TASK, pollUntil } from '../support/rabbit';
import { addRow } from '../support/report';
import { type PrivateBroker, startPrivateBroker } from '../support/private-broker';
import { commandCpuSeconds, processCpuSeconds } from '../support/process-cpu';
import { summarize } from '../support/stats';

const SCENARIO = '11. A million tasks (RabbitMQ, PostgreSQL results)';
const BULK = 1_000;
const PROGRESS_POLL_MS = 250;
const NOTE = 'private RabbitMQ, classic queues v2 and lazy, as 3.12+ stores them';

/**
 * 11. What teams adopt Celery for: `millionTasks` tasks published with sendBulk() and drained by
 * two of our workers with every result stored in PostgreSQL. Rates over a tenth early and a tenth
 * late (the table grows to a million rows meanwhile: no slowdown wanted), each worker's memory
 * early and late (flat wanted), and nothing lost: exactly one SUCCESS row per task. Beside it
 * Celery prefork -c 2 on its first `pythonMillionTasks` (a million would take it most of an hour).
 * One run: a second million proves little more and costs minutes.
 *
 * On a broker of its own (startPrivateBroker says why). The drain starts once the queue's messages
 * in the broker's memory have stopped changing, so it starts from a backlog at rest (lazy queues
 * write messages to disk as they come, after a short buffer); without lazy mode that wait did not
 * help, since 3.10 moves a backlog out of memory only once consumers take from it. The CPU per
 * task of the broker, PostgreSQL and our workers over each tenth says where a difference comes from.
 */
export async function millionScenario(bench: Bench): Promise<void> {
  const broker = await startPrivateBroker('bench-million');
  try {
    await drainOurMillion(bench, broker);
    if (bench.config.pythonCelery) await drainCelerysShare(bench, broker);
  } finally {
    await broker.stop();
  }
}

async function drainOurMillion(bench: Bench, broker: PrivateBroker): Promise<void> {
  const { config } = bench;
  const total = config.millionTasks;
  const tenth = Math.floor(total / 10);
  const database = await createDatabase(config.postgresUrl, 'million');
  const queue = await broker.tools.taskQueue('million');

  const producer = await startProducer(broker.url, false);
  const publishStart = performance.now();
  for (let sent = 0; sent < total; sent += BULK) {
    const settled = await producer.client.sendBulk(NOOP_TASK, Array.from({ length: Math.min(BULK, total - sent) }, () => []), { queue });
    if (settled.some((outcome) => outcome.status === 'rejected')) throw new Error('a bulk send of the million was refused');
  }
  const publishRate = total / ((performance.now() - publishStart) / 1000);
  await producer.close();
  await broker.settled(queue);

  const channel = await broker.tools.channel();
  const workers: WorkerProcess[] = [];
  try {
    const before = await lastResultId(database);
    const done = () => rowsAfter(database, before);
    workers.push(...(await Promise.all([0, 1].map(() => startNodeWorker(config, { queue, backend: database.url, ignoreResult: false, brokerUrl: broker.url })))));
    const cpu = (): CpuSample => ({
      broker: processCpuSeconds(broker.pid),
      postgres: commandCpuSeconds('postgres'),
      workers: workers.reduce((sum, worker) => sum + processCpuSeconds(worker.pid), 0),
    });
    // PostgreSQL's WAL written so far and the full-page images in it (pg_stat_wal, PostgreSQL 14+):
    // after each checkpoint the first change to a page logs the whole 8 KB page, and random task ids
    // spread the unique index's inserts over ever more pages as the table grows. And the blocks of
    // celery_taskmeta and its indexes read from outside shared_buffers: once table and indexes
    // outgrow them, each insert's index pages come from the OS's cache, at a syscall and a copy each.
    const postgresSample = async (): Promise<PostgresSample | null> => {
      const result = await database.client
        .query(
          `SELECT w.wal_bytes::float8 AS bytes, w.wal_fpi::float8 AS fpi,
                  (s.heap_blks_read + s.idx_blks_read)::float8 AS reads
             FROM pg_stat_wal w, pg_statio_user_tables s WHERE s.relname = 'celery_taskmeta'`,
        )
        .catch(() => null);
      const sample = result?.rows[0];
      return sample ? { bytes: Number(sample.bytes), fpi: Number(sample.fpi), reads: Number(sample.reads) } : null;
    };
    const startedAt = await pollUntil(async () => (await channel.checkQueue(queue)).messageCount < total, 5, 60_000, 'the workers to start draining');
    // The first and last tenth are timed between 5–15% and 85–95% done: away from the start (a
    // worker still starting) and the tail (the last few in flight), on the same footing.
    const reached = (share: number) => pollUntil(async () => (await done()) >= Math.floor(total * share), PROGRESS_POLL_MS, 3_600_000, `${Math.floor(total * share)} results`);
    const at05 = await reached(0.05);
    const cpu05 = cpu();
    const postgres05 = await postgresSample();
    const at15 = await reached(0.15);
    const cpu15 = cpu();
    const postgres15 = await postgresSample();
    const memory10 = workers.map((worker) => worker.memory().rssMiB);
    const at85 = await reached(0.85);
    const cpu85 = cpu();
    const postgres85 = await postgresSample();
    const memory90 = workers.map((worker) => worker.memory().rssMiB);
    const at95 = await reached(0.95);
    const cpu95 = cpu();
    const postgres95 = await postgresSample();
    const at100 = await reached(1);
    // The highest id can be committed before a lower one still in the other worker's open
    // transaction: give those a moment before counting, so in-flight rows are not counted lost.
    await pollUntil(async () => (await successesAfter(database, before)) >= total, PROGRESS_POLL_MS, 30_000, 'the last results to commit').catch(() => undefined);
    const peak = Math.max(...workers.map((worker) => worker.memory().peakMiB));
    const { rows } = await database.client.query(
      "SELECT count(*)::bigint AS rows, count(DISTINCT task_id)::bigint AS tasks FROM celery_taskmeta WHERE id > $1 AND status = 'SUCCESS'",
      [before],
    );
    const stored = { rows: Number(rows[0].rows), tasks: Number(rows[0].tasks) };
    const note = `${total.toLocaleString('en-US')} tasks, 2 workers, ${NOTE}`;
    const row = (key: string, subject: string, unit: string, value: number) => addRow(bench, { key, scenario: SCENARIO, subject, unit, summary: summarize([value]), note });
    row('million.publish', 'sendBulk(), 1,000 a call', 'tasks/s', publishRate);
    row('million.first-10', 'drain, a tenth early (5–15% done)', 'tasks/s', tenth / ((at15 - at05) / 1000));
    row('million.last-10', 'drain, a tenth late (85–95% done)', 'tasks/s', tenth / ((at95 - at85) / 1000));
    row('million.overall', 'drain, overall', 'tasks/s', total / ((at100 - startedAt) / 1000));
    for (const part of ['broker', 'postgres', 'workers'] as const) {
      const name = { broker: 'RabbitMQ', postgres: 'PostgreSQL', workers: 'our 2 workers' }[part];
      row(`million.cpu-${part}-first`, `CPU per task, ${name}, the early tenth`, 'µs', ((cpu15[part] - cpu05[part]) * 1e6) / tenth);
      row(`million.cpu-${part}-last`, `CPU per task, ${name}, the late tenth`, 'µs', ((cpu95[part] - cpu85[part]) * 1e6) / tenth);
    }
    if (postgres05 && postgres15 && postgres85 && postgres95) {
      row('million.wal-first', 'PostgreSQL WAL per task, the early tenth', 'B', (postgres15.bytes - postgres05.bytes) / tenth);
      row('million.wal-last', 'PostgreSQL WAL per task, the late tenth', 'B', (postgres95.bytes - postgres85.bytes) / tenth);
      row('million.fpi-first', 'PostgreSQL full-page images per 1,000 tasks, the early tenth', 'pages', ((postgres15.fpi - postgres05.fpi) * 1000) / tenth);
      row('million.fpi-last', 'PostgreSQL full-page images per 1,000 tasks, the late tenth', 'pages', ((postgres95.fpi - postgres85.fpi) * 1000) / tenth);
      row('million.reads-first', 'celery_taskmeta blocks read from outside shared_buffers per task, the early tenth', 'blocks', (postgres15.reads - postgres05.reads) / tenth);
      row('million.reads-last', 'celery_taskmeta blocks read from outside shared_buffers per task, the late tenth', 'blocks', (postgres95.reads - postgres85.reads) / tenth);
    }
    row('million.memory-10', 'worker RSS at 15% (mean of 2)', 'MiB', mean(memory10));
    row('million.memory-90', 'worker RSS at 85% (mean of 2)', 'MiB', mean(memory90));
    row('million.memory-peak', 'worker peak RSS (highest of 2)', 'MiB', peak);
    row('million.lost', 'tasks without a SUCCESS row (lost)', 'tasks', total - stored.tasks);
    row('million.duplicates', 'extra SUCCESS rows (run twice)', 'rows', stored.rows - stored.tasks);
  } finally {
    for (const worker of workers) await worker.stop();
    await channel.close().catch(() => undefined);
    await broker.tools.deleteQueue(queue);
  }
}

/** PostgreSQL's WAL written so far, its full-page images, and celery_taskmeta's blocks read from outside shared_buffers. */
interface PostgresSample {
  bytes: number;
  fpi: number;
  /** Blocks of celery_taskmeta (heap and indexes) read from outside shared_buffers. */
  reads: number;
}

interface CpuSample {
  broker: number;
  postgres: number;
  workers: number;
}

async function drainCelerysShare(bench: Bench, broker: PrivateBroker): Promise<void> {
  const { config } = bench;
  const pythonTotal = config.pythonMillionTasks;
  const pythonQueue = await broker.tools.taskQueue('million-python');
  const pythonDatabase = await createDatabase(config.postgresUrl, 'million_python');
  await broker.tools.prequeue(pythonQueue, pythonTotal);
  await broker.settled(pythonQueue);
  const pythonChannel = await broker.tools.channel();
  const worker = await startPythonWorker(config, { queue: pythonQueue, pool: 'prefork', concurrency: 2, resultBackend: `db+${pythonDatabase.url}`, ignoreResult: false, brokerUrl: broker.url });
  try {
    const before = await lastResultId(pythonDatabase);
    const startedAt = await pollUntil(async () => (await pythonChannel.checkQueue(pythonQueue)).messageCount < pythonTotal, 5, 60_000, 'Celery to start draining');
    const finishedAt = await pollUntil(async () => (await rowsAfter(pythonDatabase, before)) >= pythonTotal && (await successesAfter(pythonDatabase, before)) >= pythonTotal, PROGRESS_POLL_MS, 3_600_000, `${pythonTotal} Celery results`);
    addRow(bench, {
      key: 'million.python',
      scenario: SCENARIO,
      subject: `Celery prefork -c 2, first ${pythonTotal.toLocaleString('en-US')}`,
      unit: 'tasks/s',
      summary: summarize([pythonTotal / ((finishedAt - startedAt) / 1000)]),
      note: NOTE,
    });
  } finally {
    await worker.stop();
    await pythonChannel.close().catch(() => undefined);
    await broker.tools.deleteQueue(pythonQueue);
  }
}

function mean(values: number[]): number {
  return values.reduce((sum, value) => sum + value, 0) / values.length;
}
