import {
  ArgumentMetadata,
  ArgumentsHost,
  BadRequestException,
  CallHandler,
  CanActivate,
  Catch,
  ExceptionFilter,
  ExecutionContext,
  INestApplicationContext,
  Injectable,
  NestInterceptor,
  ParseIntPipe,
  PipeTransform,
  SetMetadata,
  UseFilters,
  UseGuards,
  UseInterceptors,
  createParamDecorator,
} from '@nestjs/common';
import { APP_GUARD, ExternalContextCreator, Reflector } from '@nestjs/core';
import { Observable, map, of } from 'rxjs';
import { AsyncResult, CeleryClient, CeleryTask, TaskArg, TaskFailedError, currentTask } from '../../lib';
import { TaskParameterDecoratorsError } from '../../lib/advanced';
import type { CeleryContextType, TaskContext } from '../../lib';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { startCeleryApp } from '../support/celery-app';
import { uniqueName } from '../support/rabbitmq';

/** What the enhancers saw while tasks ran. */
@Injectable()
class Sightings {
  readonly entries: Record<string, unknown>[] = [];
}

/** Lets a task run only for the tenant named in its headers (`apply_async(headers={'tenant': …})`). */
@Injectable()
class TenantGuard implements CanActivate {
  constructor(private readonly sightings: Sightings) {}

  canActivate(context: ExecutionContext): boolean {
    const task = context.switchToRpc().getContext<TaskContext>();
    this.sightings.entries.push({
      guard: 'tenant',
      type: context.getType<CeleryContextType>(),
      data: context.switchToRpc().getData(),
      task: { id: task.id, name: task.name, retries: task.retries, headers: task.headers, kwargs: task.kwargs },
      handler: context.getHandler().name,
      class: context.getClass().name,
    });
    return task.headers.tenant === 'acme';
  }
}

const Roles = (...roles: string[]) => SetMetadata('roles', roles);

/** Reads @Roles() from context.getHandler(), as role guards do. */
@Injectable()
class RolesGuard implements CanActivate {
  constructor(private readonly reflector: Reflector) {}

  canActivate(context: ExecutionContext): boolean {
    const roles = this.reflector.get<string[] | undefined>('roles', context.getHandler()) ?? [];
    const task = context.switchToRpc().getContext<TaskContext>();
    return roles.includes(String(task.headers.role));
  }
}

/** An app-wide HTTP guard that denies everything: it must not reach tasks. */
@Injectable()
class DenyAllHttpGuard implements CanActivate {
  canActivate(): boolean {
    return false;
  }
}

/** Wraps the task's result with what the interceptor knew of the task, and how long it took. */
@Injectable()
class TimingInterceptor implements NestInterceptor {
  intercept(context: ExecutionContext, next: CallHandler): Observable<unknown> {
    const started = process.hrtime.bigint();
    const task = context.switchToRpc().getContext<TaskContext>();
    return next.handle().pipe(
      map((result) => ({ result, type: context.getType(), taskId: task.id, args: context.switchToRpc().getData(), tookMs: Number(process.hrtime.bigint() - started) / 1e6 })),
    );
  }
}

/** Refuses a number that is not positive, the way ValidationPipe fails: a BadRequestException listing each problem. */
class PositivePipe implements PipeTransform<number, number> {
  transform(value: number, metadata: ArgumentMetadata): number {
    if (typeof value !== 'number' || value <= 0) {
      // metadata.data is the parameter's position among the method's parameters.
      throw new BadRequestException([`parameter #${Number(metadata.data) + 1} must be a positive number`, `got ${JSON.stringify(value)}`]);
    }
    return value;
  }
}

/** A createParamDecorator() parameter: the tenant header of the running task. */
const Tenant = createParamDecorator((_data: unknown, context: ExecutionContext) => context.switchToRpc().getContext<TaskContext>().headers.tenant);

/** Turns a RangeError into Python's ValueError, with the task's name. */
@Catch(RangeError)
class RangeErrorToValueError implements ExceptionFilter {
  catch(exception: RangeError, host: ArgumentsHost): never {
    const task = host.switchToRpc().getContext<TaskContext>();
    const error = new Error(`${task.name} got a value out of range: ${exception.message}`);
    error.name = 'ValueError';
    throw error;
  }
}

class NotFound extends Error {}

/** Recovers: the value it returns is the task's result. */
@Catch(NotFound)
class NotFoundFallback implements ExceptionFilter {
  catch(): Observable<unknown> {
    return of({ fallback: true });
  }
}

/** Turns every error into another one, as an app's catch-all filter does; a retry request must get past it. */
@Catch()
class CatchEverything implements ExceptionFilter {
  catch(exception: Error): never {
    throw new Error(`caught ${exception.name}: ${exception.message}`);
  }
}

@Injectable()
@UseGuards(TenantGuard)
class TenantTasks {
  // No parameter decorators: the method still gets the bound arguments one by one.
  @CeleryTask('enhanced.add')
  add(x: number, y: number): number {
    return x + y;
  }
}

@Injectable()
class EnhancedTasks {
  private attempts = 0;

  @CeleryTask('enhanced.timed')
  @UseInterceptors(TimingInterceptor)
  double(value: number): number {
    return value * 2;
  }

  // The tenant parameter is filled by its own decorator: the task's arguments are count and step.
  @CeleryTask('enhanced.parsed')
  parsed(@Tenant() tenant: string, @TaskArg(ParseIntPipe) count: number, @TaskArg(PositivePipe) step: number): string {
    return `${tenant}: ${count + step} (${typeof count})`;
  }

  @CeleryTask('enhanced.admin')
  @Roles('admin')
  @UseGuards(RolesGuard)
  admin(): string {
    return 'done by an admin';
  }

  @CeleryTask('enhanced.range')
  @UseFilters(RangeErrorToValueError)
  range(value: number): number {
    if (value > 10) throw new RangeError(`${value} > 10`);
    return value;
  }

  @CeleryTask('enhanced.fallback')
  @UseFilters(NotFoundFallback)
  find(): never {
    throw new NotFound('no such row');
  }

  @CeleryTask({ name: 'enhanced.retried', maxRetries: 1, defaultRetryDelay: 0 })
  @UseFilters(CatchEverything)
  retried(): string {
    if (this.attempts++ === 0) currentTask().retry({ countdown: 0 });
    return `tried ${this.attempts} times`;
  }

  @CeleryTask('enhanced.failing')
  @UseFilters(CatchEverything)
  failing(): never {
    throw new TypeError('bad input');
  }

  @CeleryTask('enhanced.plain')
  plain(value: number): number {
    return value + 1;
  }
}

@Injectable()
class HalfDecorated {
  @CeleryTask('enhanced.half')
  half(@TaskArg(ParseIntPipe) count: number, step: number): number {
    return count + step;
  }
}

async function failureOf(result: AsyncResult<unknown>): Promise<TaskFailedError> {
  const error = await result.get({ timeout: 10_000 }).then(
    (value) => new Error(`expected a failure, got ${JSON.stringify(value)}`),
    (failure: unknown) => failure,
  );
  if (!(error instanceof TaskFailedError)) throw error;
  return error;
}

describe('guards, interceptors, pipes and exception filters on tasks', () => {
  const queue = uniqueName('it-enhancers');
  let database: TestDatabase;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let sightings: Sightings;
  let pipelinesMade: string[];

  beforeAll(async () => {
    database = await createTestDatabase('it_enhancers');
    const create = jest.spyOn(ExternalContextCreator.prototype, 'create');
    app = await startCeleryApp(
      { broker: 'memory://', backend: database.url, defaultQueue: queue, worker: { queues: [queue], concurrency: 4 } },
      [Sightings, TenantGuard, RolesGuard, TimingInterceptor, TenantTasks, EnhancedTasks, { provide: APP_GUARD, useClass: DenyAllHttpGuard }],
    );
    pipelinesMade = create.mock.calls.map((call) => call[2]);
    create.mockRestore();
    celery = app.get(CeleryClient);
    sightings = app.get(Sightings);
  });

  afterAll(async () => {
    await app?.close();
    await database?.drop();
  });

  it('builds the Nest pipeline only for tasks that declare enhancers', () => {
    expect(pipelinesMade.sort()).toEqual(['add', 'admin', 'double', 'failing', 'find', 'parsed', 'range', 'retried']);
  });

  it('runs a class guard with a celery execution context: the task runs when it allows, fails with ForbiddenException when it denies', async () => {
    const allowed = await celery.send('enhanced.add', [40], { kwargs: { y: 2 }, headers: { tenant: 'acme' } });
    expect(await allowed.get({ timeout: 10_000 })).toBe(42);
    const sighting = sightings.entries.find((entry) => (entry.task as TaskContext).id === allowed.id);
    expect(sighting).toEqual({
      guard: 'tenant',
      type: 'celery',
      data: [40, 2],
      task: { id: allowed.id, name: 'enhanced.add', retries: 0, headers: { tenant: 'acme' }, kwargs: { y: 2 } },
      handler: 'add',
      class: 'TenantTasks',
    });

    const denied = await failureOf(await celery.send('enhanced.add', [1, 2], { headers: { tenant: 'other' } }));
    expect([denied.state, denied.excType, denied.excModule, denied.excMessage]).toEqual(['FAILURE', 'ForbiddenException', null, ['Forbidden resource']]);
  });

  it('lets guards read metadata from context.getHandler() on a method without parameter decorators', async () => {
    expect(await (await celery.send('enhanced.admin', [], { headers: { role: 'admin' } })).get({ timeout: 10_000 })).toBe('done by an admin');
    const denied = await failureOf(await celery.send('enhanced.admin', [], { headers: { role: 'guest' } }));
    expect(denied.excType).toBe('ForbiddenException');
  });

  it('does not apply the app’s global guards (APP_GUARD, useGlobalGuards) to tasks', async () => {
    // DenyAllHttpGuard is an APP_GUARD of this app: had it applied, every guarded task above would have failed too.
    expect(await (await celery.send('enhanced.timed', [21])).get({ timeout: 10_000 })).toMatchObject({ result: 42 });
  });

  it('runs an interceptor around the task: it transforms the stored result and sees the task', async () => {
    const result = await celery.send('enhanced.timed', [21]);
    expect(await result.get({ timeout: 10_000 })).toEqual({ result: 42, type: 'celery', taskId: result.id, args: [21], tookMs: expect.any(Number) });
  });

  it('runs pipes on @TaskArg() parameters, bound by position or by name, next to a createParamDecorator() one', async () => {
    expect(await (await celery.send('enhanced.parsed', ['40', 2], { headers: { tenant: 'acme' } })).get({ timeout: 10_000 })).toBe('acme: 42 (number)');
    expect(await (await celery.send('enhanced.parsed', [], { kwargs: { step: 2, count: '40' }, headers: { tenant: 'acme' } })).get({ timeout: 10_000 })).toBe(
      'acme: 42 (number)',
    );

    const notNumeric = await failureOf(await celery.send('enhanced.parsed', ['forty', 2]));
    expect([notNumeric.excType, notNumeric.excMessage]).toEqual(['BadRequestException', ['Validation failed (numeric string is expected)']]);
    // A pipe's list of problems (what ValidationPipe throws) is what a Python caller reads, not "Bad Request Exception".
    const negative = await failureOf(await celery.send('enhanced.parsed', ['40', -2]));
    expect([negative.excType, negative.excMessage]).toEqual(['BadRequestException', ['parameter #3 must be a positive number; got -2']]);
    // A parameter another decorator fills is not a task argument: naming it is refused, not ignored.
    const named = await failureOf(await celery.send('enhanced.parsed', ['40', 2], { kwargs: { tenant: 'evil' }, headers: { tenant: 'acme' } }));
    expect([named.excType, named.excMessage]).toEqual(['TypeError', ["enhanced.parsed() got an unexpected keyword argument 'tenant'"]]);
  });

  it('runs exception filters: a filter’s thrown error is the task’s failure, its returned value the task’s result', async () => {
    expect(await (await celery.send('enhanced.range', [7])).get({ timeout: 10_000 })).toBe(7);
    const mapped = await failureOf(await celery.send('enhanced.range', [11]));
    // Python re-raises a real ValueError: the name maps to builtins.
    expect([mapped.excType, mapped.excModule, mapped.excMessage]).toEqual(['ValueError', 'builtins', ['enhanced.range got a value out of range: 11 > 10']]);
    expect(await (await celery.send('enhanced.fallback', [])).get({ timeout: 10_000 })).toEqual({ fallback: true });
    const caught = await failureOf(await celery.send('enhanced.failing', []));
    expect([caught.excType, caught.excMessage]).toEqual(['Exception', ['caught TypeError: bad input']]);
  });

  it('lets a retry request get past a catch-all filter', async () => {
    const result = await celery.send('enhanced.retried', []);
    expect(await result.get({ timeout: 10_000 })).toBe('tried 2 times');
  });

  it('runs a task without enhancers as before', async () => {
    expect(await (await celery.send('enhanced.plain', [41])).get({ timeout: 10_000 })).toBe(42);
  });

  it('stops the start-up when only some parameters have decorators (Nest would pass the others undefined)', async () => {
    const start = startCeleryApp({ broker: 'memory://', backend: false }, [HalfDecorated]);
    await expect(start).rejects.toThrow(TaskParameterDecoratorsError);
    await expect(start).rejects.toThrow('Task "enhanced.half" (HalfDecorated.half): parameter #2 (step) has no decorator while others have');
  });
});
