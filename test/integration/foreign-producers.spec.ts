import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../sample-app/src/app.module';
import { ForeignProducer, prepareJavaProducer, preparePhpProducer, runProgram } from '../support/foreign-producers';
import { startPythonWorker } from '../support/python-worker';
import { assertRabbitMqReachable, deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

/**
 * Producers written in other languages, examples/php/send_task.php (php-amqplib) and
 * examples/java/SendTask.java (RabbitMQ Java client), send protocol v2 and v1 task messages and
 * read the rpc:// replies: from the sample-app worker, and from a real Python Celery 5.2.6 worker
 * so the examples stay right for Celery itself. They run as child processes, exactly as a PHP or
 * Java developer runs them.
 */
describe('PHP and Java producers (examples/) and rpc:// replies', () => {
  /** Each producer is prepared (checked, and compiled for Java) once, on first use. */
  const prepared = new Map<string, Promise<ForeignProducer>>();
  const producer = (language: string, prepare: () => Promise<ForeignProducer>) => {
    if (!prepared.has(language)) prepared.set(language, prepare());
    return prepared.get(language)!;
  };
  const LANGUAGES = [
    ['PHP', () => producer('PHP', preparePhpProducer)],
    ['Java', () => producer('Java', prepareJavaProducer)],
  ] as const;

  beforeAll(() => assertRabbitMqReachable());

  afterAll(async () => {
    for (const preparing of prepared.values()) await (await preparing.catch(() => undefined))?.dispose();
  });

  /** Runs the program with QUEUE TASK_NAME JSON_ARGS PROTOCOL and parses the JSON line it prints. */
  async function send(from: ForeignProducer, queue: string, task: string, args: unknown[], protocol: 'v1' | 'v2', resultTimeoutSeconds = 20) {
    const run = await runProgram(
      from.command,
      [...from.leadingArgs, queue, task, JSON.stringify(args), protocol],
      { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_TIMEOUT: String(resultTimeoutSeconds) },
    );
    const printed = run.stdout.trim();
    return { exitCode: run.exitCode, stderr: run.stderr, output: printed ? JSON.parse(printed) : undefined };
  }

  describe.each([
    {
      worker: 'the sample-app worker',
      errorType: 'Exception', // a JavaScript `throw new Error(message)` is stored as Python's Exception
      start: async (queue: string) => {
        const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: 'rpc://', CELERY_QUEUES: queue };
        const app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, settings), { logger: false, abortOnError: false });
        await app.init().catch(async (error) => {
          await app.close();
          throw error;
        });
        return () => app.close();
      },
    },
    {
      worker: 'a Python Celery 5.2.6 worker',
      errorType: 'ValueError', // test/python/interop_tasks.py raises ValueError(message)
      start: async (queue: string) => {
        const worker = await startPythonWorker({ queues: [queue], resultBackend: 'rpc://' });
        return () => worker.stop();
      },
    },
  ])('to $worker', ({ errorType, start }) => {
    const queue = uniqueName('it-foreign');
    let stop: (() => Promise<void>) | undefined;

    beforeAll(async () => {
      stop = await start(queue);
    }, 60_000);

    afterAll(async () => {
      await stop?.();
      await deleteQueues(queue);
      await deleteExchanges(queue);
    });

    describe.each(LANGUAGES)('from %s', (_language, prepare) => {
      it.each(['v2', 'v1'] as const)('tasks.add with protocol %s: prints SUCCESS 4, exit 0', async (protocol) => {
        const sent = await send(await prepare(), queue, 'tasks.add', [2, 2], protocol);
        expect(sent).toEqual({ exitCode: 0, stderr: '', output: { task_id: expect.stringMatching(/^[0-9a-f-]{36}$/), status: 'SUCCESS', result: 4 } });
      }, 60_000);

      it.each(['v2', 'v1'] as const)('tasks.fail with protocol %s: prints FAILURE with the error type and message, exit 1', async (protocol) => {
        const sent = await send(await prepare(), queue, 'tasks.fail', [`from ${protocol} é`], protocol);
        expect(sent.exitCode).toBe(1);
        expect(sent.output).toEqual({ task_id: expect.any(String), status: 'FAILURE', exc_type: errorType, exc_message: `from ${protocol} é` });
      }, 60_000);
    });
  });

  describe('when no worker consumes the queue', () => {
    const queue = uniqueName('it-foreign-nobody');

    afterAll(async () => {
      await deleteQueues(queue);
      await deleteExchanges(queue);
    });

    it.each(LANGUAGES)('%s gives up after CELERY_RESULT_TIMEOUT, exit 2', async (_language, prepare) => {
      const sent = await send(await prepare(), queue, 'tasks.add', [1, 1], 'v2', 1);
      expect(sent.exitCode).toBe(2);
      expect(sent.output).toBeUndefined();
      expect(sent.stderr).toContain('No result for task');
    }, 60_000);
  });
});
