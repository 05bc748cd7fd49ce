import { celeryOptionsFromEnv } from '../../lib/runtime/celery-options-from-env';

const AMQP = 'amqp://guest:guest@localhost:5672//';

describe('celeryOptionsFromEnv', () => {
  it("reads Celery's setting names as a Django project's CELERY namespace does, only those set", () => {
    expect(
      celeryOptionsFromEnv({
        CELERY_BROKER_URL: AMQP,
        CELERY_RESULT_BACKEND: 'db+postgresql://root@db/app',
        CELERY_TASK_DEFAULT_QUEUE: 'jobs',
        CELERY_TASK_SEND_SENT_EVENT: 'yes',
        CELERY_TASK_ACKS_LATE: 'True',
        CELERY_TASK_REJECT_ON_WORKER_LOST: 'false',
        CELERY_TASK_TRACK_STARTED: '1',
        CELERY_TASK_IGNORE_RESULT: 'off',
        CELERY_WORKER_CONCURRENCY: '8',
        CELERY_WORKER_PREFETCH_MULTIPLIER: '4',
        CELERY_WORKER_SEND_TASK_EVENTS: 'on',
        CELERY_QUEUES: 'not a Celery setting',
      }),
    ).toEqual({
      broker: AMQP,
      backend: 'db+postgresql://root@db/app',
      defaultQueue: 'jobs',
      sendSentEvent: true,
      worker: { acksLate: true, rejectOnWorkerLost: false, trackStarted: true, ignoreResult: false, concurrency: 8, prefetchMultiplier: 4, sendTaskEvents: true },
    });
    expect(celeryOptionsFromEnv({ CELERY_BROKER_URL: AMQP, CELERY_RESULT_BACKEND: '' })).toEqual({ broker: AMQP });
  });

  it('names the variable of every value it cannot read', () => {
    expect(() => celeryOptionsFromEnv({ CELERY_WORKER_CONCURRENCY: 'eight', CELERY_TASK_ACKS_LATE: 'maybe' })).toThrow(
      /CELERY_TASK_ACKS_LATE must be true or false \(or 1\/0, yes\/no, on\/off\), got "maybe"[\s\S]*CELERY_WORKER_CONCURRENCY must be a positive whole number, got "eight"/,
    );
  });
});
