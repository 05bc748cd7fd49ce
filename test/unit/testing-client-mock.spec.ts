import { Injectable } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CeleryClient, defineTask, InvalidSendOptionsError, TaskFailedError } from '../../lib';
import { createCeleryClientMock, runTask } from '../../lib/testing';

/**
 * createCeleryClientMock() (nestjs-celery/testing): the client replaced in a unit test, as Nest's
 * docs replace a BullMQ queue — a real CeleryClient on a private in-process broker and results,
 * recording what is sent, answering only what the test says.
 */

const add = defineTask<(x: number, y: number) => number>('tasks.add');

@Injectable()
class Checkout {
  constructor(private readonly celery: CeleryClient) {}

  async placeOrder(orderId: number, email: string): Promise<void> {
    await this.celery.send('orders.fulfil', [orderId], { queue: 'fulfilment', priority: 5 });
    await this.celery.send('emails.receipt', [email], { countdown: 600, kwargs: { orderId } });
  }

  async total(x: number, y: number): Promise<number> {
    return (await this.celery.send(add, [x, y])).get({ timeout: 1000 });
  }
}

async function checkoutWith(celery: CeleryClient): Promise<Checkout> {
  const moduleRef = await Test.createTestingModule({ providers: [Checkout, { provide: CeleryClient, useValue: celery }] }).compile();
  return moduleRef.get(Checkout);
}

describe('createCeleryClientMock()', () => {
  it('stands in for CeleryClient and records each send as the service made it', async () => {
    const celery = createCeleryClientMock();
    const checkout = await checkoutWith(celery);

    await checkout.placeOrder(42, 'ada@example.com');

    expect(celery).toBeInstanceOf(CeleryClient);
    celery.expectTaskSent('orders.fulfil', [42], { queue: 'fulfilment', priority: 5 });
    const receipt = celery.expectTaskSent('emails.receipt', ['ada@example.com'], { countdown: 600, kwargs: { orderId: 42 } });
    expect(receipt).toMatchObject({ queue: 'celery', kwargs: { orderId: 42 }, parentId: null });
    expect(celery.sentTasks().map((task) => task.name)).toEqual(['orders.fulfil', 'emails.receipt']);
    expect(() => celery.expectTaskSent('emails.receipt', ['ada@example.com'], { countdown: 60 })).toThrow(/options \{ countdown: 60 \}/);
    expect(() => celery.expectTaskSent('orders.cancel')).toThrow(/No orders\.cancel was sent\n\(and 2 other task\(s\): orders\.fulfil, emails\.receipt\)/);

    celery.clearSentTasks();
    celery.expectNoTaskSent();
  });

  it('routes as the app configures it, so the recorded queue is where production sends', async () => {
    const celery = createCeleryClientMock({ defaultQueue: 'default', taskRoutes: { 'emails.*': 'mail' } });
    await (await checkoutWith(celery)).placeOrder(1, 'x@example.com');

    expect(celery.sentTasks().map((task) => task.queue)).toEqual(['fulfilment', 'mail']);
  });

  it('checks a send as the real client does', async () => {
    const celery = createCeleryClientMock();

    await expect(celery.send('tasks.add', [1], { countdown: 1, eta: new Date() })).rejects.toThrow(InvalidSendOptionsError);
    celery.expectNoTaskSent();
  });

  it('leaves a result PENDING unless answer() gives it, then stores it before send() resolves', async () => {
    const celery = createCeleryClientMock();
    const pending = await celery.send('tasks.add', [1, 2]);
    expect(await pending.state()).toBe('PENDING');

    celery.answer(add, ([x, y]) => x + y);
    const checkout = await checkoutWith(celery);
    await expect(checkout.total(2, 3)).resolves.toBe(5);
    celery.expectTaskSent(add, [2, 3]);
  });

  it('stores what an answer throws as the task\'s failure', async () => {
    const celery = createCeleryClientMock().answer('tasks.explode', () => {
      throw new RangeError('no such thing');
    });
    const result = await celery.send('tasks.explode');

    expect(await result.state()).toBe('FAILURE');
    await expect(result.get({ timeout: 1 })).rejects.toBeInstanceOf(TaskFailedError);
    await expect(result.get({ timeout: 1 })).rejects.toMatchObject({ excType: 'ValueError', excMessage: ['no such thing'] });
  });

  it('records a send made inside runTask() as the child of that task', async () => {
    const celery = createCeleryClientMock();
    await runTask(() => celery.send('tasks.child'), { id: 'parent-task', rootId: 'root-task' });

    expect(celery.expectTaskSent('tasks.child')).toMatchObject({ parentId: 'parent-task', rootId: 'root-task' });
  });
});
