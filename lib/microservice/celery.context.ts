import { BaseRpcContext } from '@nestjs/microservices';
import { TaskContext } from '../task/task-context';

/**
 * The context a `@MessagePattern()` handler gets under the Celery transport (`@Ctx()`): the task
 * being run, including the kwargs (the payload, `@Payload()`, is the positional args array).
 */
export class CeleryContext extends BaseRpcContext<[TaskContext]> {
  getTask(): TaskContext {
    return this.args[0];
  }

  getKwargs(): Readonly<Record<string, unknown>> {
    return this.args[0].kwargs;
  }
}
