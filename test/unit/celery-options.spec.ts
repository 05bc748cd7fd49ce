import { resolveCeleryConfig } from '../../lib/celery-config';
import { validateCeleryOptions } from '../../lib/celery-options.validator';
import { InvalidCeleryOptionsError } from '../../lib/errors/invalid-celery-options.error';

function problemsOf(options: unknown): string[] {
  try {
    validateCeleryOptions(options as never);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCeleryOptionsError);
    return (error as InvalidCeleryOptionsError).problems;
  }
}

describe('CeleryModule options', () => {
  it('names every bad option with what was expected', () => {
    const problems = problemsOf({
      broker: 'kafka://user:hunter2@host',
      backend: { type: 'postgres' },
      worker: { concurrency: 0, queues: [], acksLate: 'yes' },
    });
    expect(problems).toEqual([
      expect.stringMatching(/^broker "kafka:\/\/user:\*\*\*@host" has an unsupported scheme; expected one of amqp:\/\//),
      "backend of type 'postgres' needs a url or a dataSource",
      'worker.queues must be a non-empty array of queue names, got an empty array',
      'worker.concurrency must be a positive integer, got 0',
      'worker.acksLate must be true or false, got "yes"',
    ]);
  });

  it('never shows a password in an error', () => {
    const problems = problemsOf({ backend: 'mysql://root:s3cret@db/app' });
    expect(problems.join('\n')).not.toContain('s3cret');
    expect(problems[0]).toContain('mysql://root:***@db/app');
  });

  it('accepts Celery URL forms', () => {
    expect(problemsOf({ broker: 'amqp://guest:guest@localhost:5672//', backend: 'db+postgresql://root@localhost/test' })).toEqual([]);
    expect(problemsOf({ broker: { url: 'amqps://host', publishTimeoutMs: 5000 }, backend: false, worker: false })).toEqual([]);
  });

  it('falls back to the embedded default only when nothing is configured', () => {
    expect(resolveCeleryConfig({}).backend).toEqual({ embedded: {} });
    expect(resolveCeleryConfig({ broker: 'amqp://localhost' }).backend).toBeNull();
    expect(resolveCeleryConfig({ broker: 'amqp://localhost', backend: 'postgresql://root@localhost/test' }).backend).toEqual({
      url: 'postgresql://root@localhost/test',
    });
  });

  it('applies worker defaults and keeps explicit values', () => {
    const worker = resolveCeleryConfig({ defaultQueue: 'jobs', worker: { concurrency: 4 } }).worker!;
    expect(worker).toMatchObject({ queues: ['jobs'], concurrency: 4, prefetchMultiplier: 1, acksLate: false, autoStart: true });
    expect(resolveCeleryConfig({ worker: false }).worker).toBeNull();
  });
});
