// A worker process for the duplicate-delivery guard test, built from dist/ (test/support/global-setup.js
// builds it), so a test can SIGKILL it after a result is stored. Its tasks are those of
// test/integration/duplicate-delivery-guard.spec.ts: guard.sleep_once (skipIfSucceeded) and
// guard.sleep (without). Settings from the environment: CELERY_BROKER_URL, CELERY_RESULT_BACKEND,
// CELERY_QUEUES, CELERY_HOSTNAME. Plain JavaScript because dist/ holds only lib/ and sample-app/.
const { Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { setTimeout: sleep } = require('node:timers/promises');
const { CeleryModule, CeleryTask } = require('../../dist/lib');

class GuardedTasks {
  async sleepOnce(seconds) {
    await sleep(seconds * 1000);
    return seconds;
  }

  async sleep(seconds) {
    await sleep(seconds * 1000);
    return seconds;
  }
}
Injectable()(GuardedTasks);
const decorate = (method, options) => CeleryTask(options)(GuardedTasks.prototype, method, Object.getOwnPropertyDescriptor(GuardedTasks.prototype, method));
decorate('sleepOnce', { name: 'guard.sleep_once', skipIfSucceeded: true });
decorate('sleep', { name: 'guard.sleep' });

class WorkerModule {}
Module({
  imports: [
    CeleryModule.forRoot({
      broker: process.env.CELERY_BROKER_URL,
      backend: process.env.CELERY_RESULT_BACKEND,
      defaultQueue: process.env.CELERY_QUEUES,
      worker: { queues: [process.env.CELERY_QUEUES], hostname: process.env.CELERY_HOSTNAME, acksLate: true, trackStarted: true },
    }),
  ],
  providers: [GuardedTasks],
})(WorkerModule);

NestFactory.createApplicationContext(WorkerModule, { logger: ['error', 'warn', 'log'] })
  .then((app) => app.enableShutdownHooks())
  .catch((error) => {
    console.error(error);
    process.exit(1);
  });
