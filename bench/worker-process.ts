/**
 * Our worker as a process of its own, the way an application runs it (`npm run start:worker`):
 * a Nest application context with bench/worker-module.ts (CeleryModule and one @CeleryTask). Started by
 * support/processes.ts with its settings in BENCH_WORKER; tells its parent "ready" over IPC.
 */
import 'reflect-metadata';
import { NestFactory } from '@nestjs/core';
import type { NodeWorkerSettings } from './support/processes';
import { benchWorkerModule } from './worker-module';

async function main(): Promise<void> {
  const settings = JSON.parse(process.env.BENCH_WORKER!) as NodeWorkerSettings & { brokerUrl: string };
  const BenchWorkerModule = benchWorkerModule(settings);
  const app = await NestFactory.createApplicationContext(BenchWorkerModule, { logger: process.env.BENCH_LOGS ? undefined : ['error', 'warn'] });
  let closing = false;
  const close = async () => {
    if (closing) return;
    closing = true;
    await app.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('disconnect', () => void close()); // the benchmark is gone
  process.send!({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`bench worker failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
