// Modules for the worker CLI tests that read none of the CLI's flags: their CeleryModule options are
// fixed here (queue plain-module-queue, concurrency 1, no task events), so whatever -Q, -c, -n, -E
// and -l change, the CLI applied itself. Only where to connect comes from the environment
// (PLAIN_BROKER_URL, PLAIN_RESULT_BACKEND) and the module's own node name (PLAIN_NODE_NAME), none of
// them a CELERY_* variable. Plain JavaScript because dist/ holds only lib/ and sample-app/.
const { Injectable, Module } = require('@nestjs/common');
const { CeleryModule, CeleryTask } = require('../../dist/lib');

class PlainTasks {
  add(x, y) {
    return x + y;
  }

  fail(message) {
    throw new TypeError(message);
  }
}
Injectable()(PlainTasks);
const decorate = (method, options) => CeleryTask(options)(PlainTasks.prototype, method, Object.getOwnPropertyDescriptor(PlainTasks.prototype, method));
decorate('add', { name: 'plain.add' });
decorate('fail', { name: 'plain.fail' });

const connection = { broker: process.env.PLAIN_BROKER_URL, backend: process.env.PLAIN_RESULT_BACKEND || undefined };

/** A worker with its options written in the code. */
class PlainWorkerModule {}
Module({
  imports: [CeleryModule.forRoot({ ...connection, worker: { queues: ['plain-module-queue'], concurrency: 1, hostname: process.env.PLAIN_NODE_NAME || 'plain-module@%h' } })],
  providers: [PlainTasks],
})(PlainWorkerModule);

/**
 * The same worker with a beat option: plain.add(1, 2) every second to PLAIN_BEAT_QUEUE, on the
 * schedule tables of the PostgreSQL result backend. Under the CLI it fires only with -B.
 */
class PlainBeatModule {}
Module({
  imports: [
    CeleryModule.forRoot({
      ...connection,
      worker: { queues: ['plain-module-queue'], concurrency: 1, hostname: process.env.PLAIN_NODE_NAME || 'plain-module@%h' },
      beat: { schedule: { 'plain-every-second': { task: 'plain.add', schedule: 1, args: [1, 2], options: { queue: process.env.PLAIN_BEAT_QUEUE || 'plain-module-queue' } } } },
    }),
  ],
  providers: [PlainTasks],
})(PlainBeatModule);

/** Tasks, but `worker: false`: a producer. */
class ProducerOnlyModule {}
Module({ imports: [CeleryModule.forRoot({ ...connection, worker: false })], providers: [PlainTasks] })(ProducerOnlyModule);

/** A worker configuration without a single @CeleryTask(): a producer too. */
class NoTasksModule {}
Module({ imports: [CeleryModule.forRoot({ ...connection, worker: { concurrency: 2 } })] })(NoTasksModule);

/** No CeleryModule at all. */
class NoCeleryModule {}
Module({})(NoCeleryModule);

module.exports = { PlainWorkerModule, PlainBeatModule, ProducerOnlyModule, NoTasksModule, NoCeleryModule };
