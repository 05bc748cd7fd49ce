/**
 * One beat as a process of its own (`npm run start:beat`'s shape): CeleryModule with
 * `beat: { scheduler: 'django' }` on the benchmark's database, settings in BENCH_BEAT. It counts
 * its fires and their lag (due time to the firing transaction, by the database's clock) and
 * sends them to its parent when asked ("report") over IPC.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryModule } from '../lib';
import { CELERY_RUNTIME } from '../lib/celery.constants';
import type { CeleryRuntime } from '../lib/runtime/celery-runtime';

async function main(): Promise<void> {
  const settings = JSON.parse(process.env.BENCH_BEAT!) as { brokerUrl: string; databaseUrl: string };
  @Module({ imports: [CeleryModule.forRoot({ broker: settings.brokerUrl, worker: false, beat: { url: settings.databaseUrl, scheduler: 'django' } })] })
  class BeatModule {}
  const app = await NestFactory.createApplicationContext(BeatModule, { logger: ['error', 'warn'] });
  const lagsMs: number[] = [];
  app.get<CeleryRuntime>(CELERY_RUNTIME).parts.beat!.addListener({ beatFired: (fire) => lagsMs.push(fire.lagSeconds * 1000) });
  process.on('message', (message: string) => {
    if (message === 'report') process.send!({ lagsMs });
  });
  const close = async () => {
    await app.close().catch(() => undefined);
    process.exit(0);
  };
  process.on('SIGTERM', () => void close());
  process.on('disconnect', () => void close());
  process.send!({ ready: true });
}

main().catch((error) => {
  process.stderr.write(`bench beat failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
