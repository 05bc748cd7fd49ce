import { decodePickle } from '../../lib/protocol/pickle';
import { startSampleProcess, SampleProcess } from '../support/built-app';
import { eventually } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * The sample app's contract, driven as checks from outside drive it: `CELERY_BEAT=true` with the
 * worker (dist/sample-app/src/main-worker.js) embeds a beat that, with
 * CELERY_BEAT_SCHEDULER=django and no CELERY_BEAT_DATABASE_URL, reads django-celery-beat's tables
 * in CELERY_RESULT_BACKEND's database; a row an admin adds there runs on the same worker.
 */
describe('sample app: a worker with CELERY_BEAT=true', () => {
  let env: TestEnvironment;
  let worker: SampleProcess | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-sample-beat');
  }, 60_000);

  afterAll(async () => {
    worker?.child.kill('SIGKILL');
    await env?.dispose();
  });

  it("fires an admin's row from the result backend's database, and the worker runs the task", async () => {
    worker = startSampleProcess('main-worker', {
      CELERY_BROKER_URL: RABBITMQ_URL,
      CELERY_RESULT_BACKEND: env.databaseUrl,
      CELERY_QUEUES: env.queue,
      CELERY_BEAT: 'true',
      CELERY_BEAT_SCHEDULER: 'django',
      CELERY_HOSTNAME: `sample-beat-${process.pid}@%h`,
    });
    await worker.waitForOutput(/Beat started/);
    expect(worker.output()).toMatch(/Worker for \d+ task\(s\) and a beat/);
    const sql = (text: string, parameters: unknown[] = []) => querySql(env.databaseUrl, text, parameters);
    const [interval] = await sql(`INSERT INTO django_celery_beat_intervalschedule (every, period) VALUES (1, 'seconds') RETURNING id`);
    await sql(
      `INSERT INTO django_celery_beat_periodictask (name, task, args, kwargs, queue, headers, enabled, total_run_count, date_changed, description, one_off, interval_id)
       VALUES ('add-every-second', 'tasks.add', '[2, 3]', '{}', $1, '{}', true, 0, now(), '', false, $2)`,
      [env.queue, interval.id],
    );
    const result = await eventually(async () => (await sql(`SELECT status, result FROM celery_taskmeta WHERE status = 'SUCCESS' LIMIT 1`))[0], 15_000, 'a fired tasks.add stored');
    expect(decodePickle(result.result)).toBe(5); // Celery's database backend pickles the result column
    await worker.waitForOutput(/Sending due task add-every-second \(tasks\.add\)/);
  }, 60_000);
});
