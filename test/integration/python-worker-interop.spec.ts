import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient, TaskFailedError } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { PythonWorker, startPythonWorker } from '../support/python-worker';
import { deleteExchanges, deleteQueues, RABBITMQ_URL } from '../support/rabbitmq';
import { databaseChannel, RPC_CHANNEL } from '../support/result-channels';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

/**
 * Nest → Python: our CeleryClient sends tasks that only a real Python Celery 5.2.6 worker has
 * (test/python/interop_tasks.py) and reads their results and failures, through Celery's database
 * tables (Python writes them with SQLAlchemy, we read them) and through rpc:// replies.
 */
describe(`CeleryClient and a ${CELERY_PEER.name} worker`, () => {
  let env: TestEnvironment;
  const extraQueues: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-pyworker');
  });

  afterAll(async () => {
    await deleteQueues(...extraQueues);
    await deleteExchanges(...extraQueues);
    await env?.dispose();
  });

  describe.each([
    ['the database tables, result_extended off', databaseChannel(false)],
    ['the database tables, result_extended on', databaseChannel(true)],
    ['rpc:// replies', RPC_CHANNEL],
  ])('through %s', (_label, channel) => {
    let app: INestApplicationContext;
    let celery: CeleryClient;
    let worker: PythonWorker;
    let queue: string;

    beforeAll(async () => {
      queue = `${env.queue}-${extraQueues.length}`;
      extraQueues.push(queue);
      // Our app first: it creates Celery's tables, which Python's backend then finds in place.
      app = await startCeleryApp({ broker: RABBITMQ_URL, backend: channel.ours(env), defaultQueue: queue, worker: false });
      celery = app.get(CeleryClient);
      worker = await startPythonWorker({ queues: [queue], resultBackend: channel.theirs(env), resultExtended: channel.resultExtended });
    });

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
    });

    it('returns the result of a task only Python has', async () => {
      const result = await celery.send('py.upper', ['héllo wörld 😀']);
      expect(await result.get({ timeout: 15_000 })).toBe('HÉLLO WÖRLD 😀');
      expect(await result.state()).toBe('SUCCESS');
    });

    it('reaches the Python worker it was sent to', async () => {
      const result = await celery.send('py.whoami');
      expect(await result.get({ timeout: 15_000 })).toBe(worker.nodename);
    });

    it("rejects with Python's exception type, message and traceback", async () => {
      const result = await celery.send('py.divide', [1, 0]);
      const failure = await result.get({ timeout: 15_000 }).catch((error: unknown) => error);
      expect(failure).toBeInstanceOf(TaskFailedError);
      const error = failure as TaskFailedError;
      expect(error).toMatchObject({ state: 'FAILURE', excType: 'ZeroDivisionError', excModule: 'builtins', excMessage: ['division by zero'] });
      expect(error.message).toContain('ZeroDivisionError: division by zero');
      expect(error.traceback).toMatch(/^Traceback \(most recent call last\):/);
      expect(error.traceback).toContain('interop_tasks.py');
      expect(error.traceback).toMatch(/ZeroDivisionError: division by zero\s*$/);
      expect(await result.state()).toBe('FAILURE');
    });

    it("runs the sample app's task names the same way (tasks.add, tasks.fail)", async () => {
      expect(await (await celery.send('tasks.add', [2, 3])).get({ timeout: 15_000 })).toBe(5);
      const failure = await (await celery.send('tasks.fail', ['from nest'])).get({ timeout: 15_000 }).catch((error: unknown) => error);
      expect(failure).toMatchObject({ excType: 'ValueError', excMessage: ['from nest'] });
    });

    if (channel.kind === 'database') {
      it(`reads the row Python wrote, extended columns ${channel.resultExtended ? 'filled' : 'left empty'}`, async () => {
        const result = await celery.send('py.upper', [], { kwargs: { text: 'kw' } });
        expect(await result.get({ timeout: 15_000 })).toBe('KW');
        const meta = await result.info();
        expect(meta).toMatchObject({ taskId: result.id, status: 'SUCCESS', result: 'KW', traceback: null });
        expect(meta!.dateDone).toBeInstanceOf(Date);
        const extended = { name: meta!.name, args: meta!.args, kwargs: meta!.kwargs, worker: meta!.worker, queue: meta!.queue };
        if (channel.resultExtended) {
          expect(extended).toEqual({ name: 'py.upper', args: [], kwargs: { text: 'kw' }, worker: worker.nodename, queue });
        } else {
          expect(extended).toEqual({ name: null, args: null, kwargs: null, worker: null, queue: null });
        }
      });
    }
  });
});
