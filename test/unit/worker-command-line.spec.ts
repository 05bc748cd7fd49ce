import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import {
  commandLineHostname,
  reportToWorkerCommandLine,
  WORKER_COMMAND_LINE_CHANNEL,
  WorkerCommandLine,
  workerCommandLine,
  WorkerCommandLineChannel,
} from '../../lib/runtime/worker-command-line';

const AMQP = 'amqp://guest:guest@localhost:5672//';
const CLI: WorkerCommandLine = { logLevel: 'warning', app: 'WorkerModule (dist/worker.module.js)' };

/** The worker CLI's flags, applied over the module's options where options become settings (resolveCeleryConfig). */
describe('the worker command line over module options', () => {
  const moduleOptions = {
    broker: AMQP,
    defaultQueue: 'jobs',
    worker: { queues: ['jobs'], concurrency: 2, hostname: 'api@%h', sendTaskEvents: false, logTasks: true, acksLate: true },
  };

  it('leaves the module options alone without the CLI', () => {
    const config = resolveCeleryConfig(moduleOptions, null);
    expect(config.worker).toMatchObject({ queues: ['jobs'], concurrency: 2, hostname: 'api@%h', acksLate: true });
    expect(config.logTasks).toBe(true);
    expect(config.banner).toBeNull();
  });

  it('lets -Q, -c, -n and -E win over the module, as Celery flags win over its settings, and keeps the rest', () => {
    const config = resolveCeleryConfig(moduleOptions, { ...CLI, queues: ['urgent', 'bulk'], concurrency: 8, hostname: 'worker1@%h', sendTaskEvents: true });
    expect(config.worker).toMatchObject({ queues: ['urgent', 'bulk'], concurrency: 8, hostname: 'worker1@%h', acksLate: true });
    expect(config.events.sendTaskEvents).toBe(true);
    // -Q does not change the default queue of what the app sends, as in Celery.
    expect(config.defaultQueue).toBe('jobs');
  });

  it('keeps the module values of the flags not given; without -E the module decides task events', () => {
    const config = resolveCeleryConfig({ ...moduleOptions, worker: { ...moduleOptions.worker, sendTaskEvents: true } }, CLI);
    expect(config.worker).toMatchObject({ queues: ['jobs'], concurrency: 2, hostname: 'api@%h' });
    expect(config.events.sendTaskEvents).toBe(true);
  });

  it('logs the per-task lines at -l info and debug only, whatever the module says, and asks for a banner', () => {
    expect(resolveCeleryConfig(moduleOptions, CLI).logTasks).toBe(false);
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, logLevel: 'info' }).logTasks).toBe(true);
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, logLevel: 'debug' }).logTasks).toBe(true);
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, logLevel: 'error' }).logTasks).toBe(false);
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, logLevel: 'info' }).banner).toEqual({ app: CLI.app, logLevel: 'info' });
  });

  it('gives child i of -P N its own node name, from -n or else the module', () => {
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, hostname: 'worker1@%h', processIndex: 2 }).worker!.hostname).toBe('worker1-2@%h');
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, processIndex: 1 }).worker!.hostname).toBe('api-1@%h');
    expect(resolveCeleryConfig({ broker: AMQP }, { ...CLI, processIndex: 3 }).worker!.hostname).toBe('celery-3@%h');
  });

  it('appends -<i> to the name part; a bare host name means celery@<host>', () => {
    expect(commandLineHostname({ ...CLI, processIndex: 2 }, 'worker1@%h')).toBe('worker1-2@%h');
    expect(commandLineHostname({ ...CLI, hostname: 'api@box.example.com', processIndex: 1 }, 'x@%h')).toBe('api-1@box.example.com');
    expect(commandLineHostname({ ...CLI, hostname: 'box', processIndex: 3 }, 'x@%h')).toBe('celery-3@box');
    expect(commandLineHostname({ ...CLI, hostname: 'box' }, 'x@%h')).toBe('box');
  });

  it("runs the module's beat in the CLI's worker with -B only, as celery worker -B", () => {
    const withBeat = { ...moduleOptions, beat: { url: 'postgresql://db/app' } };
    expect(resolveCeleryConfig(withBeat, null).beat).toMatchObject({ url: 'postgresql://db/app' });
    expect(resolveCeleryConfig(withBeat, CLI).beat).toBeNull();
    expect(resolveCeleryConfig(withBeat, { ...CLI, beat: true }).beat).toMatchObject({ url: 'postgresql://db/app' });
    // -B without a beat option: none to run; the CLI then says what to add (bin/nestjs-celery-worker).
    expect(resolveCeleryConfig(moduleOptions, { ...CLI, beat: true }).beat).toBeNull();
  });

  it('gives a producer-only module no worker, flags or not (the CLI then refuses to run it)', () => {
    const config = resolveCeleryConfig({ broker: AMQP, worker: false }, { ...CLI, queues: ['urgent'], sendTaskEvents: true });
    expect(config.worker).toBeNull();
    expect(config.events.sendTaskEvents).toBe(false);
    expect(config.banner).toBeNull();
  });

  it('reads the channel the CLI writes on globalThis, and takes the runtimes reports', () => {
    const key = WORKER_COMMAND_LINE_CHANNEL as unknown as string;
    const global = globalThis as unknown as Record<string, WorkerCommandLineChannel | undefined>;
    expect(workerCommandLine()).toBeNull();
    reportToWorkerCommandLine({ worker: true, summary: 'nobody listens' });
    // bin/nestjs-celery-worker writes exactly this, with Symbol.for('nestjs-celery.worker-command-line').
    global[key] = { commandLine: { ...CLI, concurrency: 3 }, runtimes: [] };
    try {
      expect(WORKER_COMMAND_LINE_CHANNEL).toBe(Symbol.for('nestjs-celery.worker-command-line'));
      expect(resolveCeleryConfig({ broker: AMQP }).worker!.concurrency).toBe(3);
      reportToWorkerCommandLine({ worker: true, summary: 'Worker for 1 task(s)', hostname: 'celery@box' });
      expect(global[key]!.runtimes).toEqual([{ worker: true, summary: 'Worker for 1 task(s)', hostname: 'celery@box' }]);
    } finally {
      delete global[key];
    }
  });
});

describe('Mingle by transport', () => {
  it("is on by default on amqp and redis, never on the in-process broker (Celery's compatible_transports), and off on request", () => {
    expect(resolveCeleryConfig({ broker: AMQP }, null).worker!.mingle).toBe(true);
    expect(resolveCeleryConfig({ broker: 'redis://localhost:6379/0' }, null).worker!.mingle).toBe(true);
    expect(resolveCeleryConfig({ broker: 'memory://' }, null).worker!.mingle).toBe(false);
    expect(resolveCeleryConfig({ broker: AMQP, worker: { mingle: false } }, null).worker!.mingle).toBe(false);
  });
});
