// A Nest app with one Celery task, started three ways for test/integration/remote-shutdown.spec.ts:
// REMOTE_SHUTDOWN_MODE=hooks (CeleryModule, app.enableShutdownHooks()), bare (CeleryModule, no
// shutdown hooks) or microservice (CeleryServer). Settings from CELERY_BROKER_URL,
// CELERY_RESULT_BACKEND, CELERY_QUEUES, CELERY_HOSTNAME. Plain JavaScript over dist/ (built by
// test/support/global-setup.js). It prints "app closed" from an onApplicationShutdown hook of its
// own, so the test sees that the app's other modules were shut down too.
const { Controller, Injectable, Module } = require('@nestjs/common');
const { NestFactory } = require('@nestjs/core');
const { MessagePattern } = require('@nestjs/microservices');
const { setTimeout: sleep } = require('node:timers/promises');
const { CeleryModule, CeleryTask } = require('../../dist/lib');
const { CeleryServer } = require('../../dist/lib/microservice');

const mode = process.env.REMOTE_SHUTDOWN_MODE;
const options = {
  broker: process.env.CELERY_BROKER_URL,
  backend: process.env.CELERY_RESULT_BACKEND,
  defaultQueue: process.env.CELERY_QUEUES,
  worker: { queues: [process.env.CELERY_QUEUES], hostname: process.env.CELERY_HOSTNAME },
};

class SlowTasks {
  async nap(seconds) {
    await sleep(seconds * 1000);
    return seconds;
  }
}
Injectable()(SlowTasks);
CeleryTask({ name: 'shutdown.nap' })(SlowTasks.prototype, 'nap', Object.getOwnPropertyDescriptor(SlowTasks.prototype, 'nap'));

class SlowController {
  // A @MessagePattern handler gets the task's positional args as its payload.
  async nap([seconds]) {
    await sleep(seconds * 1000);
    return seconds;
  }
}
Controller()(SlowController);
MessagePattern('shutdown.nap')(SlowController.prototype, 'nap', Object.getOwnPropertyDescriptor(SlowController.prototype, 'nap'));

class ClosingWitness {
  onApplicationShutdown() {
    console.log('app closed');
  }
}
Injectable()(ClosingWitness);

class AppModule {}
Module({
  imports: mode === 'microservice' ? [] : [CeleryModule.forRoot(options)],
  controllers: mode === 'microservice' ? [SlowController] : [],
  providers: mode === 'microservice' ? [ClosingWitness] : [SlowTasks, ClosingWitness],
})(AppModule);

async function main() {
  if (mode === 'microservice') {
    const app = await NestFactory.createMicroservice(AppModule, { strategy: new CeleryServer(options), logger: ['error', 'warn', 'log'] });
    app.enableShutdownHooks();
    await app.listen();
    console.log('ready');
    return;
  }
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn', 'log'] });
  if (mode === 'hooks') app.enableShutdownHooks();
  console.log('ready');
}

main().catch((error) => {
  console.error(error);
  process.exit(1);
});
