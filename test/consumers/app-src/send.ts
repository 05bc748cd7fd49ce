import { NestFactory } from '@nestjs/core';
import { DataSource } from 'typeorm';
import { CeleryClient } from 'nestjs-celery';
import { CELERY_RESULT_BACKEND, type ResultBackend } from 'nestjs-celery/advanced';
import { AppModule } from './app.module.js';
import { add, double } from './math.tasks.js';

/**
 * The HTTP app as `nest new` makes it, producer only: sends a task to the worker process, waits
 * for its result, and prints what it saw as one line of JSON.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule, { logger: ['error', 'warn'] });
  await app.listen(0, '127.0.0.1');
  const celery = app.get(CeleryClient);
  const result = await celery.send(add, [2, 3]);
  const value = await result.get({ timeout: 30_000 });
  const doubled = await (await celery.send(double, ['21'])).get({ timeout: 30_000 });
  const rows: { status: string }[] = await app.get(DataSource).query('SELECT status FROM celery_taskmeta WHERE task_id = $1', [result.id]);
  const backend = app.get<ResultBackend>(CELERY_RESULT_BACKEND).description;
  console.log(JSON.stringify({ value, doubled, taskId: result.id, senderPid: process.pid, stored: rows[0]?.status ?? null, backend }));
  await app.close();
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
