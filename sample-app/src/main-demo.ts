import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryClient, TaskFailedError, defineTask } from '../../lib';
import { AppModule } from './app.module';
import { MathTasks } from './tasks/math.tasks';

const add = defineTask<MathTasks['add']>('tasks.add');
const xsum = defineTask<MathTasks['xsum']>('tasks.xsum');

/**
 * `npm run demo`: the API and a worker in one process. With no CELERY_BROKER_URL and no
 * CELERY_RESULT_BACKEND it runs on the in-process broker and embedded PostgreSQL; it sends a
 * few tasks, prints their results and exits.
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRole({ api: true, worker: true }), { logger: ['error', 'warn', 'log'] });
  app.enableShutdownHooks();
  await app.init();
  const celery = app.get(CeleryClient);
  const print = (label: string, value: unknown) => console.log(`${label.padEnd(28)} → ${JSON.stringify(value)}`);

  print('tasks.add(2, 2)', await (await celery.send(add, [2, 2])).get({ timeout: 10_000 }));
  print('tasks.mul(6, 7)', await (await celery.send('tasks.mul', [6, 7])).get({ timeout: 10_000 }));
  print('tasks.xsum([1..10])', await (await celery.send(xsum, [[1, 2, 3, 4, 5, 6, 7, 8, 9, 10]])).get({ timeout: 10_000 }));
  print('tasks.echo({kwargs})', await (await celery.send('tasks.echo', [], { kwargs: { value: { hello: 'wörld', n: [1, 2.5, null] } } })).get({ timeout: 10_000 }));
  print('tasks.sleep(0.2)', await (await celery.send('tasks.sleep', [0.2])).get({ timeout: 10_000 }));
  try {
    await (await celery.send('tasks.fail', ['on purpose'])).get({ timeout: 10_000 });
  } catch (error) {
    if (!(error instanceof TaskFailedError)) throw error;
    print('tasks.fail("on purpose")', `${error.state}: ${error.excType}: ${error.excMessage.join(', ')}`);
  }
  const parallel = await Promise.all(Array.from({ length: 20 }, (_, index) => celery.send(add, [index, index])));
  print('20 × tasks.add in parallel', await Promise.all(parallel.map((result) => result.get({ timeout: 10_000 }))));
  await app.close();
}

main().catch((error: Error) => {
  new Logger('demo').error(error.message, error.stack);
  process.exit(1);
});
