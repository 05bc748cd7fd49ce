import { MessageHandler } from '@nestjs/microservices';
import { lastValueFrom, isObservable } from 'rxjs';
import { currentTask } from '../task/task-context';
import { TaskDefinition, TaskOptions } from '../task/task-definition';
import { CeleryContext } from './celery.context';

/**
 * A task served by a `@MessagePattern('tasks.add')` handler of a Nest microservice: the handler
 * gets the positional args as its payload and a CeleryContext (with the kwargs); whatever it
 * returns or emits last is the task's result. Errors go through Nest's RPC exception filters
 * first, as on every Nest transport: an `RpcException('msg')` fails the task with that message,
 * anything else with Nest's "Internal server error" unless a filter of yours says more.
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
      if (!isObservable(outcome)) return outcome;
      try {
        return await lastValueFrom(outcome, { defaultValue: null });
      } catch (filtered) {
        throw toTaskError(filtered);
      }
    };
  }
}

/** What an RPC exception filter emits (a string, `{ status, message }`, any object) as an Error. */
function toTaskError(filtered: unknown): Error {
  if (filtered instanceof Error) return filtered;
  const message =
    typeof filtered === 'string' ? filtered : typeof (filtered as { message?: unknown })?.message === 'string' ? (filtered as { message: string }).message : JSON.stringify(filtered);
  const error = new Error(message);
  error.name = 'RpcException';
  return error;
}
