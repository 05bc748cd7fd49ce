import { Injectable } from '@nestjs/common';
import { CeleryTask, currentTask, currentTaskOrUndefined } from '../../lib';
import { RetryRequested, runTask, testTaskContext } from '../../lib/testing';

/**
 * runTask() (nestjs-celery/testing): a task method unit-tested with currentTask() answering, no
 * module, broker or worker — Celery's `task.apply()` for one call.
 */

class PaymentDeclined extends Error {}

@Injectable()
class Payments {
  readonly charged: string[] = [];

  constructor(private readonly gateway: { charge(orderId: number, key: string): Promise<void> }) {}

  /** Retries with a growing countdown, and skips the charge on a replayed delivery. */
  @CeleryTask({ name: 'payments.charge', maxRetries: 5 })
  async charge(orderId: number) {
    const task = currentTask();
    if (task.headers['x-dry-run']) return 'dry run';
    try {
      await this.gateway.charge(orderId, `${task.id}:${task.retries}`);
    } catch (error) {
      if (error instanceof PaymentDeclined) throw error;
      task.retry({ countdown: 10 * 2 ** task.retries, error });
    }
    return `charged ${orderId} on try ${task.retries}`;
  }
}

describe('runTask()', () => {
  it('runs the method with currentTask() answering from the context given', async () => {
    const keys: string[] = [];
    const payments = new Payments({ charge: async (_order, key) => void keys.push(key) });

    await expect(runTask(() => payments.charge(7), { id: 'task-1', retries: 2 })).resolves.toBe('charged 7 on try 2');
    expect(keys).toEqual(['task-1:2']);
    await expect(runTask(() => payments.charge(7), { headers: { 'x-dry-run': true } })).resolves.toBe('dry run');
  });

  it('rejects with RetryRequested carrying the retry options when the task asks to retry', async () => {
    const outage = new Error('gateway down');
    const payments = new Payments({ charge: async () => Promise.reject(outage) });

    const retry = runTask(() => payments.charge(7), { retries: 3 });
    await expect(retry).rejects.toBeInstanceOf(RetryRequested);
    await expect(retry).rejects.toMatchObject({ options: { countdown: 80, error: outage } });
  });

  it('rejects with what the task throws, and resolves with what a plain function returns', async () => {
    const payments = new Payments({ charge: async () => Promise.reject(new PaymentDeclined('card expired')) });

    await expect(runTask(() => payments.charge(7))).rejects.toThrow(PaymentDeclined);
    await expect(runTask(() => currentTask().name)).resolves.toBe('test.task');
    await expect(runTask(() => { throw new RangeError('sync'); })).rejects.toThrow(RangeError);
  });

  it('keeps the context across awaits and timers, and only inside the call', async () => {
    const seen = await runTask(async () => {
      await new Promise((resolve) => setTimeout(resolve, 1));
      return currentTask().id;
    }, { id: 'kept' });

    expect(seen).toBe('kept');
    expect(currentTaskOrUndefined()).toBeUndefined();
    expect(() => currentTask()).toThrow(/outside of a running Celery task/);
  });
});

describe('testTaskContext()', () => {
  it('fills what a test does not set with plain defaults, the id standing for the root and correlation ids', () => {
    const controller = new AbortController();
    const context = testTaskContext({ id: 'abc', args: [1], signal: controller.signal });

    expect(context).toMatchObject({
      id: 'abc',
      name: 'test.task',
      args: [1],
      kwargs: {},
      retries: 0,
      rootId: 'abc',
      parentId: null,
      groupId: null,
      eta: null,
      expires: null,
      headers: {},
      deliveryInfo: { exchange: '', routingKey: 'celery', redelivered: false, queue: 'celery' },
      correlationId: 'abc',
      hostname: 'celery@testing',
    });
    expect(context.signal).toBe(controller.signal);
    expect(testTaskContext().id).not.toBe(testTaskContext().id);
    expect(() => context.retry({ eta: new Date(0) })).toThrow(RetryRequested);
  });
});
