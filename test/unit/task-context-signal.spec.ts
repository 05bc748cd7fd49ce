import { createTaskContext } from '../../lib/worker/create-task-context';
import type { TaskMessage } from '../../lib/protocol/task-message';

const message = { id: 'id-1', task: 'tasks.add', args: [], kwargs: {}, retries: 0, customHeaders: {} } as unknown as TaskMessage;
const deliveryInfo = { exchange: '', routingKey: 'celery', redelivered: false, queue: 'celery' };

// The worker's contexts make their AbortSignal on first read (docs/PERFORMANCE.md, "Memory").
describe('a task context built by the worker', () => {
  it('makes its signal only when read, once, and it is the run\'s signal', () => {
    const controller = new AbortController();
    let made = 0;
    const context = createTaskContext(message, deliveryInfo, 'w@h', () => {
      made++;
      return controller.signal;
    });
    expect(made).toBe(0);
    expect(context.signal).toBe(controller.signal);
    expect(context.signal).toBe(controller.signal);
    expect(made).toBe(1);
    controller.abort(new Error('terminated'));
    expect(context.signal.aborted).toBe(true);
    expect((context.signal.reason as Error).message).toBe('terminated');
  });

  it('takes a signal as it is, and can be given another', () => {
    const first = new AbortController().signal;
    const second = new AbortController().signal;
    const context = createTaskContext(message, deliveryInfo, 'w@h', first);
    expect(context.signal).toBe(first);
    context.signal = second;
    expect(context.signal).toBe(second);
    expect(context.id).toBe('id-1');
  });
});
