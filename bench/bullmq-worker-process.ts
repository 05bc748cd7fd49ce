/**
 * BullMQ's worker as a process of its own, the way @nestjs/bullmq users run one: one Worker,
 * concurrency 10, a processor adding `x + y` (the same work as our bench.add). Started by
 * support/processes.ts with its settings in BENCH_BULLMQ; tells its parent "ready" over IPC.
 */
import { Worker } from 'bullmq';

interface BullmqWorkerSettings {
  queue: string;
  /** Redis host, port and database, as ioredis options. */
  connection: { host: string; port: number; db: number };
  concurrency: number;
}

async function main(): Promise<void> {
  const settings = JSON.parse(process.env.BENCH_BULLMQ!) as BullmqWorkerSettings;
  const worker = new Worker(settings.queue, async (job) => (job.data as { x: number; y: number }).x + (job.data as { x: number; y: number }).y, {
    connection: settings.connection,
    concurrency: settings.concurrency,
  });
  await worker.waitUntilReady();
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await worker.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('disconnect', () => void close());
  process.send!({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`bench BullMQ worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
