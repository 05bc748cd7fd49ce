import { INestApplicationContext } from '@nestjs/common';
import { hostname as osHostname } from 'node:os';
import { CeleryClient } from '../../lib';
import { CELERY_BROKER } from '../../lib/advanced';
import type { Broker } from '../../lib/broker/broker.interface';
import { ClusterMonitor } from '../../lib/monitoring/cluster-monitor';
import type { TaskSnapshot } from '../../lib/monitoring/monitored-task';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { eventually, startCeleryApp } from '../support/celery-app';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { RABBITMQ_URL, uniqueName } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

describe(`ClusterMonitor on real RabbitMQ: our worker and a ${CELERY_PEER.name} worker (-E) seen through their events`, () => {
  let env: TestEnvironment;
  let app: INestApplicationContext | undefined;
  let python: PythonWorker | undefined;
  let monitor: ClusterMonitor;
  const nestHostname = `${uniqueName('monitor-nest')}@${osHostname()}`;
  const changed: TaskSnapshot[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-monitor');
    env.alsoRemove(`${env.queue}-py`);
    const options = celeryOptionsFromEnvironment(
      { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue, CELERY_HOSTNAME: nestHostname, CELERY_WORKER_SEND_TASK_EVENTS: 'true' },
      { worker: true },
    );
    app = await startCeleryApp(options, [], [TasksModule]);
    monitor = new ClusterMonitor({ broker: app.get<Broker>(CELERY_BROKER), control: app.get(CeleryClient).control });
    monitor.state.subscribe({ taskChanged: (task) => changed.push(task) });
    await monitor.start();
    python = await startPythonWorker({ queues: [`${env.queue}-py`], resultBackend: 'rpc://', events: true });
  }, 90_000);

  afterAll(async () => {
    await python?.stop();
    await monitor?.stop();
    await app?.close();
    await env?.dispose();
  });

  it('lists both workers online, with their software, heartbeat interval and counts', async () => {
    const workers = await eventually(() => {
      const nest = monitor.state.worker(nestHostname);
      const py = monitor.state.worker(python!.nodename);
      // The first news may be the heartbeat our wake-up asked for (freq 5, software only); wait for a regular one.
      return nest?.online && py?.online && nest.processed !== null && py.processed !== null && nest.freq === 2 ? { nest, py } : undefined;
    }, 20_000, 'both workers online, with a regular heartbeat');
    expect(workers.nest).toMatchObject({ swIdent: 'nestjs-celery', freq: 2, active: expect.any(Number), processed: expect.any(Number) });
    expect(workers.py).toMatchObject({ swIdent: 'py-celery', swVer: CELERY_PEER.version });
    expect(workers.nest.heartbeatAgeSeconds).toBeLessThan(4);
    expect(workers.nest.loadavg).toHaveLength(3);
  });

  it('follows tasks on either worker to SUCCESS and FAILURE, with args, result, exception and traceback', async () => {
    const celery = app!.get(CeleryClient);
    const sent = {
      nestAdd: await celery.send('tasks.add', [2, 3], { queue: env.queue }),
      nestFail: await celery.send('tasks.fail', ['nest boom'], { queue: env.queue }),
      pyAdd: await celery.send('tasks.add', [4, 5], { queue: `${env.queue}-py` }),
      pyFail: await celery.send('tasks.fail', ['py boom'], { queue: `${env.queue}-py` }),
    };
    const finished = (id: string) => eventually(() => {
      const task = monitor.state.task(id);
      return task && (task.state === 'SUCCESS' || task.state === 'FAILURE') ? task : undefined;
    }, 30_000, `task ${id} finished in the state`);
    const nestAdd = await finished(sent.nestAdd.id);
    expect(nestAdd).toMatchObject({ name: 'tasks.add', state: 'SUCCESS', args: '(2, 3)', kwargs: '{}', result: '5', worker: nestHostname, retries: 0 });
    expect(nestAdd.timeline.map((entry) => entry.type)).toEqual(expect.arrayContaining(['task-received', 'task-started', 'task-succeeded']));
    const nestFail = await finished(sent.nestFail.id);
    expect(nestFail).toMatchObject({ state: 'FAILURE', exception: expect.stringContaining('nest boom'), worker: nestHostname });
    expect(nestFail.traceback).toEqual(expect.stringContaining('nest boom'));
    expect(await finished(sent.pyAdd.id)).toMatchObject({ name: 'tasks.add', state: 'SUCCESS', args: '(4, 5)', result: '9', worker: python!.nodename });
    const pyFail = await finished(sent.pyFail.id);
    // The solo pool reports the exception as billiard's wrapper; the traceback names it.
    expect(pyFail).toMatchObject({ state: 'FAILURE', worker: python!.nodename, exception: expect.any(String) });
    expect(pyFail.traceback).toContain('ValueError: py boom');
    // Subscribers heard each step.
    expect(changed.filter((task) => task.uuid === sent.pyAdd.id).map((task) => task.state)).toEqual(expect.arrayContaining(['RECEIVED', 'STARTED', 'SUCCESS']));
  }, 60_000);

  it('shows a worker offline once it has shut down (worker-offline)', async () => {
    const workerChanges: boolean[] = [];
    const unsubscribe = monitor.state.subscribe({ workerChanged: (worker) => worker.hostname === python!.nodename && workerChanges.push(worker.online) });
    await python!.stop();
    await eventually(() => (monitor.state.worker(python!.nodename)?.online === false ? true : undefined), 15_000, 'the Python worker offline');
    expect(workerChanges).toContain(false);
    unsubscribe();
    expect(monitor.state.worker(nestHostname)!.online).toBe(true);
  }, 30_000);
});
