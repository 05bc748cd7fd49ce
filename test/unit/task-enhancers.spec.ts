import {
  ArgumentsHost,
  BadRequestException,
  Body,
  CanActivate,
  Catch,
  ExceptionFilter,
  ForbiddenException,
  ParseIntPipe,
  UseFilters,
  UseGuards,
  UseInterceptors,
  UsePipes,
  createParamDecorator,
} from '@nestjs/common';
import { ExternalExceptionsHandler } from '@nestjs/core/exceptions/external-exceptions-handler';
import { ExecutionContextHost } from '@nestjs/core/helpers/execution-context-host';
import { Observable, of, throwError } from 'rxjs';
import { CELERY_TASK_METADATA } from '../../lib/celery.constants';
import { CeleryTask, TaskDeclaration } from '../../lib/decorators/celery-task.decorator';
import { TaskArg } from '../../lib/decorators/task-arg.decorator';
import { RetryRequested } from '../../lib/errors/retry-requested';
import { TaskParameterDecoratorsError } from '../../lib/errors/task-parameter-decorators.error';
import { buildMethodTask } from '../../lib/invocation/build-method-task';
import { outcomeAfterFilters } from '../../lib/invocation/exception-filter-outcome';
import { withReadableMessage } from '../../lib/invocation/readable-http-exception';
import { taskArgumentsFactory } from '../../lib/invocation/task-arguments.factory';
import { findTaskEnhancers, needsNestPipeline } from '../../lib/invocation/task-enhancers';
import { TaskPipelines } from '../../lib/invocation/task-pipelines';

class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

const Header = createParamDecorator((name: string) => name);

@UseGuards(AllowGuard)
class GuardedClass {
  @CeleryTask('unit.class-guarded')
  run(x: number) {
    return x;
  }
}

class Methods {
  @CeleryTask('unit.plain')
  plain(x: number) {
    return x;
  }

  @CeleryTask('unit.intercepted')
  @UseInterceptors({ intercept: (_context: unknown, next: { handle(): Observable<unknown> }) => next.handle() })
  intercepted(x: number) {
    return x;
  }

  @CeleryTask('unit.filtered')
  @UseFilters({ catch: () => undefined })
  filtered(x: number) {
    return x;
  }

  @CeleryTask('unit.piped')
  piped(@TaskArg(ParseIntPipe) x: number) {
    return x;
  }

  @CeleryTask('unit.custom')
  custom(@Header('tenant') tenant: string, @TaskArg() x: number) {
    return [tenant, x];
  }

  @CeleryTask('unit.body')
  body(@Body() x: number) {
    return x;
  }

  @CeleryTask('unit.pipes-unmarked')
  @UsePipes(ParseIntPipe)
  pipesUnmarked(x: number) {
    return x;
  }

  @CeleryTask('unit.pipes-nothing-to-mark')
  @UsePipes(ParseIntPipe)
  pipesNothingToMark() {
    return 1;
  }

  @CeleryTask('unit.rest')
  rest(@TaskArg() first: number, ...others: number[]) {
    return [first, others];
  }

  @CeleryTask('unit.half')
  half(@TaskArg() first: number, second: number) {
    return first + second;
  }
}

/** Builds the task as the explorer does; the pipeline is a stand-in that records being asked for. */
function build(instance: object, methodName: string): { asked: boolean } {
  const method = Object.getPrototypeOf(instance)[methodName] as Function;
  const declaration: TaskDeclaration = Reflect.getMetadata(CELERY_TASK_METADATA, method);
  const outcome = { asked: false };
  buildMethodTask({ declaration, instance, method, methodName, source: `${instance.constructor.name}.${methodName}`, moduleKey: '' }, () => {
    outcome.asked = true;
    return { invoker: () => () => undefined } as unknown as TaskPipelines;
  });
  return outcome;
}

describe('which tasks go through Nest’s pipeline', () => {
  it.each([
    ['plain', false],
    ['intercepted', true],
    ['filtered', true],
    ['piped', true],
    ['custom', true],
    ['pipesNothingToMark', true],
  ])('%s: %s', (methodName, expected) => {
    const method = (Methods.prototype as unknown as Record<string, Function>)[methodName];
    expect(needsNestPipeline(findTaskEnhancers(Methods, method, methodName))).toBe(expected);
    expect(build(new Methods(), methodName).asked).toBe(expected);
  });

  it('counts a guard declared on the class', () => {
    expect(needsNestPipeline(findTaskEnhancers(GuardedClass, GuardedClass.prototype.run, 'run'))).toBe(true);
    expect(build(new GuardedClass(), 'run').asked).toBe(true);
  });

  it('tells @TaskArg() parameters from createParamDecorator() ones', () => {
    expect(findTaskEnhancers(Methods, Methods.prototype.custom, 'custom').parameters).toEqual([
      { index: 0, kind: 'custom' },
      { index: 1, kind: 'task-argument' },
    ]);
  });
});

describe('parameter decorators Nest would apply silently wrong', () => {
  it.each([
    ['body', 'parameter #1 has a decorator tasks cannot fill (an HTTP or microservice one such as @Body() or @Payload()). Use @TaskArg()'],
    ['pipesUnmarked', 'pipes are declared (@UsePipes()) but no parameter is marked for them. Mark the parameters they apply to with @TaskArg().'],
    ['rest', 'it has parameter decorators and takes any number of positional arguments'],
    ['half', 'parameter #2 (second) has no decorator while others have'],
  ])('refuses %s at start-up', (methodName, message) => {
    const attempt = () => build(new Methods(), methodName);
    expect(attempt).toThrow(TaskParameterDecoratorsError);
    expect(attempt).toThrow(`Task "unit.${methodName.replace(/[A-Z]/g, (letter) => `-${letter.toLowerCase()}`)}" (Methods.${methodName}): ${message}`);
  });
});

describe('filling @TaskArg() parameters', () => {
  it('gives the n-th @TaskArg() parameter the n-th task argument, whatever other decorators sit between', () => {
    const factory = taskArgumentsFactory([1, 3]);
    const args = [['first', 'second'], { id: 'task' }];
    expect(factory.exchangeKeyForValue(100, 1, args)).toBe('first');
    expect(factory.exchangeKeyForValue(100, 3, args)).toBe('second');
    expect(factory.exchangeKeyForValue(3, 1, args)).toBeUndefined();
  });
});

describe('what a Python caller reads of a pipe’s error', () => {
  it('joins the list of problems a BadRequestException carries (ValidationPipe’s), and leaves other errors alone', () => {
    expect((withReadableMessage(new BadRequestException(['x must be a number', 'y should not be empty'])) as Error).message).toBe(
      'x must be a number; y should not be empty',
    );
    expect((withReadableMessage(new BadRequestException('Validation failed (numeric string is expected)')) as Error).message).toBe(
      'Validation failed (numeric string is expected)',
    );
    expect((withReadableMessage(new ForbiddenException()) as Error).message).toBe('Forbidden');
    const plain = new TypeError('bad');
    expect(withReadableMessage(plain)).toBe(plain);
  });
});

describe('a task’s outcome after its exception filters', () => {
  /** An ExternalExceptionsHandler with one filter, as Nest builds it from @UseFilters(). */
  function handlerWith(filter: ExceptionFilter, ...exceptionMetatypes: Function[]): ExternalExceptionsHandler {
    const handler = new ExternalExceptionsHandler();
    handler.setCustomFilters([{ func: filter.catch.bind(filter), exceptionMetatypes: exceptionMetatypes as never[] }]);
    return handler;
  }
  const host: ArgumentsHost = new ExecutionContextHost([[1], {}]);
  const original = new RangeError('out of range');

  it('fails with what the filter throws', async () => {
    const mapped = new Error('mapped');
    await expect(outcomeAfterFilters(handlerWith({ catch: () => { throw mapped; } }), original, host)).rejects.toBe(mapped);
  });

  it('fails with the error of the Observable it returns, as RPC filters do', async () => {
    const mapped = new Error('from throwError');
    await expect(outcomeAfterFilters(handlerWith({ catch: () => throwError(() => mapped) }), original, host)).rejects.toBe(mapped);
  });

  it('succeeds with the value it returns or emits', async () => {
    await expect(outcomeAfterFilters(handlerWith({ catch: () => of('fallback') }), original, host)).resolves.toBe('fallback');
    await expect(outcomeAfterFilters(handlerWith({ catch: () => Promise.resolve(0) }), original, host)).resolves.toBe(0);
  });

  it('keeps the original error when the filter returns nothing, or when no filter catches it', async () => {
    await expect(outcomeAfterFilters(handlerWith({ catch: () => undefined }), original, host)).rejects.toBe(original);
    @Catch(TypeError)
    class TypeErrorsOnly implements ExceptionFilter {
      catch(): string {
        return 'not for a RangeError';
      }
    }
    await expect(outcomeAfterFilters(handlerWith(new TypeErrorsOnly(), TypeError), original, host)).rejects.toBe(original);
  });

  it('never shows a retry request to filters', async () => {
    const seen: unknown[] = [];
    const retry = new RetryRequested({ countdown: 1 });
    await expect(outcomeAfterFilters(handlerWith({ catch: (error) => seen.push(error) }), retry, host)).rejects.toBe(retry);
    expect(seen).toEqual([]);
  });
});
