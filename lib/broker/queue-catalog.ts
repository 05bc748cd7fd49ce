import { QueueDeclaration } from './broker.interface';
import { celeryTaskQueue, CeleryQueueOptions } from './celery-queue';

/**
 * The queues this app knows (Celery's `task_queues`): one declaration per name, shared by the
 * client (declares before sending) and the worker (declares before consuming), so both always
 * declare a queue the same way — and the same way Python Celery does.
 */
export class QueueCatalog {
  private readonly declarations = new Map<string, QueueDeclaration>();

  constructor(private readonly configured: Readonly<Record<string, CeleryQueueOptions>> = {}) {}

  declaration(name: string): QueueDeclaration {
    let declaration = this.declarations.get(name);
    if (!declaration) {
      declaration = celeryTaskQueue(name, this.configured[name]);
      this.declarations.set(name, declaration);
    }
    return declaration;
  }
}
