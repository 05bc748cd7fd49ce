// A worker module for the process-pool tests (test/integration/process-pool*.spec.ts), run by the
// worker CLI so a pool child creates it again (--module). Plain JavaScript because dist/ holds only
// lib/ and sample-app/. Everything comes from POOL_* variables, none a CELERY_* one:
// POOL_BROKER_URL, POOL_RESULT_BACKEND, POOL_KIND (inline | process), POOL_QUEUE, and the pool's
// limits POOL_MAX_TASKS_PER_CHILD, POOL_MAX_MEMORY_PER_CHILD (KiB), POOL_AUTOSCALE (max,min),
// POOL_RESTARTS=true (pool_restart honoured).
const { Injectable, Module } = require('@nestjs/common');
const { CeleryModule, CeleryTask, OnTaskSignal, currentTask } = require('../../dist/lib');

/** A provider the tasks get injected: proves a child has the application's dependency injection. */
class Greeter {
  greet(name) {
    return `hello ${name} from ${process.pid}`;
  }
}
Injectable()(Greeter);

class AutoretryError extends Error {}

/** What the worker's task signal handlers saw (hooks run in the worker process, not in a child). */
const signalsSeen = [];

class PoolTasks {
  constructor(greeter) {
    this.greeter = greeter;
    this.leak = [];
  }

  add(x, y) {
    return x + y;
  }

  greet(name) {
    return this.greeter.greet(name);
  }

  pid() {
    return process.pid;
  }

  fail(message) {
    throw new TypeError(message);
  }

  retryOnce() {
    const task = currentTask();
    if (task.retries === 0) task.retry({ countdown: 0.1, error: new RangeError('first try') });
    return `retried ${task.retries}`;
  }

  flaky() {
    if (currentTask().retries < 2) throw new AutoretryError('not yet');
    return `after ${currentTask().retries} retries`;
  }

  async progress() {
    await currentTask().setProgress(1, 2, 'half');
    return 'progressed';
  }

  /** Waits, unless its signal fires (soft limit, terminate in the inline pool). */
  async wait(seconds) {
    const signal = currentTask().signal;
    await new Promise((resolve, reject) => {
      const timer = setTimeout(resolve, seconds * 1000);
      signal.addEventListener('abort', () => {
        clearTimeout(timer);
        reject(signal.reason);
      });
    });
    return 'waited';
  }

  /** Never yields: only killing its process stops it (tasks.sleep as a busy loop). */
  spin() {
    for (;;);
  }

  spinPastSoftLimit() {
    for (;;);
  }

  /** Holds `mebibytes` more MiB for the life of the process: a leak. */
  grow(mebibytes) {
    this.leak.push(Buffer.alloc(mebibytes * 1024 * 1024, 1));
    return process.pid;
  }

  signals() {
    return signalsSeen;
  }

  onPostrun({ task, state }) {
    signalsSeen.push(`postrun ${task.name} ${state} in ${process.pid}`);
  }
}
Injectable()(PoolTasks);
Reflect.defineMetadata('design:paramtypes', [Greeter], PoolTasks);
const decorate = (method, options) => CeleryTask(options)(PoolTasks.prototype, method, Object.getOwnPropertyDescriptor(PoolTasks.prototype, method));
decorate('add', { name: 'pool.add' });
decorate('greet', { name: 'pool.greet' });
decorate('pid', { name: 'pool.pid' });
decorate('fail', { name: 'pool.fail' });
decorate('retryOnce', { name: 'pool.retry_once' });
decorate('flaky', { name: 'pool.flaky', autoretryFor: [AutoretryError], maxRetries: 5, defaultRetryDelay: 0.1 });
decorate('progress', { name: 'pool.progress', trackStarted: true });
decorate('wait', { name: 'pool.wait' });
decorate('spin', { name: 'pool.spin', timeLimit: 1 });
// The soft limit fires the signal first (the loop ignores it); the hard one must still kill the child.
decorate('spinPastSoftLimit', { name: 'pool.spin_past_soft_limit', softTimeLimit: 0.5, timeLimit: 1.5 });
decorate('grow', { name: 'pool.grow' });
decorate('signals', { name: 'pool.signals', pool: 'inline' });
OnTaskSignal('postrun')(PoolTasks.prototype, 'onPostrun', Object.getOwnPropertyDescriptor(PoolTasks.prototype, 'onPostrun'));

const env = process.env;
const count = (name) => (env[name] ? Number(env[name]) : undefined);
const autoscale = env.POOL_AUTOSCALE ? env.POOL_AUTOSCALE.split(',').map(Number) : undefined;

class PoolWorkerModule {}
Module({
  imports: [
    CeleryModule.forRoot({
      broker: env.POOL_BROKER_URL,
      backend: env.POOL_RESULT_BACKEND || undefined,
      defaultQueue: env.POOL_QUEUE || 'pool-queue',
      worker: {
        pool: env.POOL_KIND || 'process',
        maxTasksPerChild: count('POOL_MAX_TASKS_PER_CHILD'),
        maxMemoryPerChild: count('POOL_MAX_MEMORY_PER_CHILD'),
        autoscale: autoscale && { max: autoscale[0], min: autoscale[1] },
        poolRestarts: env.POOL_RESTARTS === 'true',
        mingle: false,
      },
    }),
  ],
  providers: [Greeter, PoolTasks],
})(PoolWorkerModule);

module.exports = { PoolWorkerModule };
