import { MaxRetriesExceededError } from '../../lib/errors/max-retries-exceeded.error';
import { RetryRequested } from '../../lib/errors/retry-requested';
import { EMPTY_EMBED } from '../../lib/protocol/signature-dict';
import { TaskMessage } from '../../lib/protocol/task-message';
import { planRetry } from '../../lib/worker/retry-policy';
import { retryMessage } from '../../lib/worker/retry-message';
import { decodeTaskMessage } from '../../lib/protocol/decode-task-message';
import { parseCeleryDate } from '../../lib/protocol/celery-time';
import { capturedBody, capturedProperties, CapturedMessage, loadFixture } from '../support/fixtures';

class TransientError extends Error {}

function message(retries: number): TaskMessage {
  return {
    id: 'id-1', task: 'demo.task', args: [1], kwargs: { k: 'v' }, embed: EMPTY_EMBED, rootId: 'id-1', parentId: null, group: null,
    groupIndex: null, retries, eta: null, expires: null, timeLimit: [null, null], shadow: null, origin: null, ignoreResult: false,
    argsrepr: null, kwargsrepr: null, customHeaders: {}, replyTo: null, correlationId: null, priority: null,
  };
}

const NOW = 1_000_000;

describe('retry policy (Celery rules)', () => {
  it('treats errors that are neither retry() nor autoretryFor as failures', () => {
    expect(planRetry(message(0), { autoretryFor: [TransientError] }, new TypeError('x'), NOW)).toEqual({ kind: 'fail' });
  });

  it('retries after the explicit countdown, or the default delay (180 s)', () => {
    expect(planRetry(message(0), {}, new RetryRequested({ countdown: 5 }), NOW)).toEqual({ kind: 'retry', eta: new Date(NOW + 5_000), cause: undefined });
    const cause = new TransientError('t');
    expect(planRetry(message(0), { autoretryFor: [TransientError] }, cause, NOW)).toEqual({ kind: 'retry', eta: new Date(NOW + 180_000), cause });
    expect(planRetry(message(0), { autoretryFor: [Error], defaultRetryDelay: 0.1 }, cause, NOW)).toMatchObject({ eta: new Date(NOW + 100) });
  });

  it('backs off exponentially up to the cap, like the captured Celery worker (factor 1: 1 s then 2 s)', () => {
    const options = { autoretryFor: [Error], retryBackoff: 1, retryJitter: false, maxRetries: 10 };
    const delays = [0, 1, 2, 3].map((retries) => (planRetry(message(retries), options, new Error(), NOW) as { eta: Date }).eta.getTime() - NOW);
    expect(delays).toEqual([1_000, 2_000, 4_000, 8_000]);
    expect((planRetry(message(9), { ...options, retryBackoffMax: 60 }, new Error(), NOW) as { eta: Date }).eta.getTime() - NOW).toBe(60_000);
  });

  it('jitters the backoff over [0, backoff]', () => {
    const options = { autoretryFor: [Error], retryBackoff: true, maxRetries: 10 };
    expect((planRetry(message(3), options, new Error(), NOW, () => 0.999) as { eta: Date }).eta.getTime() - NOW).toBe(8_000);
    expect((planRetry(message(3), options, new Error(), NOW, () => 0) as { eta: Date }).eta.getTime() - NOW).toBe(0);
  });

  it('stops after maxRetries (default 3) with MaxRetriesExceededError keeping the last error', () => {
    const cause = new TransientError('still down');
    expect(planRetry(message(2), { autoretryFor: [TransientError] }, cause, NOW).kind).toBe('retry');
    const plan = planRetry(message(3), { autoretryFor: [TransientError] }, cause, NOW);
    expect(plan.kind).toBe('exhausted');
    const error = (plan as { error: MaxRetriesExceededError }).error;
    expect(error).toBeInstanceOf(MaxRetriesExceededError);
    expect(error.message).toBe("Can't retry demo.task[id-1] args:(1,) kwargs:{'k': 'v'} (last error: Error: still down)");
    expect(error.cause).toBe(cause);
    expect(error.celeryExceptionType).toBe('MaxRetriesExceededError');
  });

  it('retries forever with maxRetries null, and lets retry() override the limit', () => {
    expect(planRetry(message(1000), { autoretryFor: [Error], maxRetries: null }, new Error(), NOW).kind).toBe('retry');
    expect(planRetry(message(1), { maxRetries: 10 }, new RetryRequested({ maxRetries: 1 }), NOW).kind).toBe('exhausted');
  });
});

describe('the retry message', () => {
  it('matches what Celery 5.2.6 republished on autoretry (worker_autoretry_republish)', () => {
    const [original, firstRetry] = loadFixture('worker_autoretry_republish').messages as CapturedMessage[];
    const delivered = decodeTaskMessage(capturedBody(original), capturedProperties(original));
    const eta = parseCeleryDate(firstRetry.headers.eta as string)!;
    const outgoing = retryMessage(
      delivered,
      { exchange: original.exchange, routingKey: original.routing_key, queue: original.routing_key, redelivered: false },
      eta,
      firstRetry.headers.origin as string,
    );
    expect({ exchange: outgoing.exchange, routingKey: outgoing.routingKey }).toEqual({ exchange: firstRetry.exchange, routingKey: firstRetry.routing_key });
    expect(outgoing.body.toString()).toBe(firstRetry.body_raw);
    const headers = outgoing.properties.headers!;
    for (const [key, value] of Object.entries(firstRetry.headers)) {
      if (key === 'lang') continue;
      if (key === 'eta') expect(parseCeleryDate(headers.eta as string)!.getTime()).toBe(eta.getTime());
      else expect({ key, value: headers[key] }).toEqual({ key, value });
    }
    expect(outgoing.properties).toMatchObject({ correlationId: firstRetry.properties.correlation_id, replyTo: firstRetry.properties.reply_to, priority: 0 });
  });

  it("keeps the producer's headers and ignore_result, as Celery 5.6 does, but not RabbitMQ's dead-letter record", () => {
    const [original] = loadFixture('worker_autoretry_republish').messages as CapturedMessage[];
    const delivered = decodeTaskMessage(capturedBody(original), capturedProperties(original));
    const stamped = {
      ...delivered,
      ignoreResult: true,
      customHeaders: {
        'x-tenant': 'acme',
        traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
        stamped_headers: ['on_stamp'],
        stamps: { on_stamp: 'flag' },
        'x-death': [{ count: 1, queue: 'work' }],
        'x-first-death-queue': 'work',
      },
    };
    const outgoing = retryMessage(stamped, { exchange: '', routingKey: 'work', queue: 'work', redelivered: false }, new Date(), 'gen1@host');
    const headers = outgoing.properties.headers!;
    expect(headers).toMatchObject({
      'x-tenant': 'acme',
      traceparent: '00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01',
      stamped_headers: ['on_stamp'],
      stamps: { on_stamp: 'flag' },
      ignore_result: true,
      retries: delivered.retries + 1,
    });
    expect(headers['x-death']).toBeUndefined();
    expect(headers['x-first-death-queue']).toBeUndefined();
  });
});
