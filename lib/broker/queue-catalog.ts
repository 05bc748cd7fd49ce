import { QueueDeclaration } from './broker.interface';
import { celeryTaskQueue, CeleryQueueOptions } from './celery-queue';

/** Celery 5.5's `task_default_queue_type`. */
export type DefaultQueueType = 'classic' | 'quorum';

/**
 * The queues this app knows (Celery's `task_queues`): one declaration per name, shared by the
 * client (declares before sending) and the worker (declares before consuming), so both always
 * declare a queue the same way — and the same way Python Celery does.
 */
export class QueueCatalog {
  private readonly declarations = new Map<string, QueueDeclaration>();

  constructor(
    private readonly configured: Readonly<Record<string, CeleryQueueOptions>> = {},
    /** How queues not in `configured` are declared (Celery's `task_default_queue_type`): quorum adds `x-queue-type`. */
    private readonly defaultQueueType: DefaultQueueType = 'classic',
  ) {}

  /**
   * How queue `name` is declared. A configured queue, or a name declared before (Celery keeps
   * those in `app.amqp.queues` too), keeps its declaration whatever `requested` says, as Celery's
   * `add_task_queue` takes `app.amqp.queues[name]` for a known name; a new name is declared as
   * `requested` (Celery's `select_add` for `add_consumer`), by default as Celery's automatic
   * queues: a direct exchange and a binding key named like the queue.
   */
  declaration(name: string, requested: CeleryQueueOptions = {}): QueueDeclaration {
    let declaration = this.declarations.get(name);
    if (!declaration) {
      declaration = celeryTaskQueue(name, this.configured[name] ?? { ...(this.defaultQueueType === 'quorum' ? { queueType: 'quorum' } : {}), ...requested });
      this.declarations.set(name, declaration);
    }
    return declaration;
  }
}
