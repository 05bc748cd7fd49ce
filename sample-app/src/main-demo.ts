import { Logger } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryClient } from '../../lib';
import { AppModule } from './app.module';
import { demoEnvironment, runDemo } from './demo';

/**
 * `npm run demo`: the API and a worker in one process. With no CELERY_BROKER_URL and no
 * CELERY_RESULT_BACKEND it runs on the in-process broker and result store (memory://).
 */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRole({ api: true, worker: true }, demoEnvironment(process.env)), {
    // The worker logs the deliberate tasks.fail at ERROR, as Celery's does; the demo prints its outcome instead.
    logger: ['fatal', 'warn'],
  });
  app.enableShutdownHooks();
  await app.init();
  await runDemo(app.get(CeleryClient), (call, outcome) => console.log(`${call.padEnd(26)} → ${JSON.stringify(outcome)}`));
  await app.close();
}

main().catch((error: Error) => {
  new Logger('demo').error(error.message, error.stack);
  process.exit(1);
});
