import { MessageHandler } from '@nestjs/microservices';
import { lastValueFrom, isObservable } from 'rxjs';
import { currentTask } from '../worker/task-context';
import { TaskDefinition, TaskOptions } from '../worker/task-definition';
import { CeleryContext } from './celery.context';

/**
 * A task served by a `@MessagePattern('tasks.add')` handler of a Nest microservice: the handler
 * gets the positional args as its payload and a CeleryContext (with the kwargs); whatever it
 * returns or emits last is the task's result.
 */
export class MessagePatternTask implements TaskDefinition {
  readonly options: TaskOptions = {};

  constructor(
    readonly name: string,
    private readonly handler: MessageHandler,
  ) {}

  get source(): string {
    return `@MessagePattern('${this.name}')`;
  }

  prepare(args: readonly unknown[]): () => Promise<unknown> {
    return async () => {
      const outcome = await this.handler(args, new CeleryContext([currentTask()]));
      return isObservable(outcome) ? lastValueFrom(outcome, { defaultValue: null }) : outcome;
    };
  }
}
