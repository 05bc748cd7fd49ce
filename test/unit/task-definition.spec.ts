import { CeleryTask } from '../../lib/decorators/celery-task.decorator';
import { TaskDeclaration } from '../../lib/decorators/celery-task.decorator';
import { CELERY_TASK_METADATA } from '../../lib/celery.constants';
import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { buildMethodTask } from '../../lib/invocation/build-method-task';
import { MethodTask } from '../../lib/task/method-task';

class Sample {
  @CeleryTask('sample.add')
  add(x: number, y: number) {
    return x + y;
  }
  @CeleryTask('sample.greet')
  greet(name: string, greeting = 'hello', /* a comment, with a comma */ punctuation = '!') {
    return `${greeting} ${name}${punctuation}`;
  }
  @CeleryTask('sample.sum')
  sum(first: number, ...rest: number[]) {
    return rest.reduce((total, value) => total + value, first);
  }
  @CeleryTask({ name: 'sample.count', argNames: [] })
  count(...values: unknown[]) {
    return values.length;
  }
}

/** The task as the explorer builds it for a method without Nest enhancers (no pipeline may be asked for). */
function definition(method: keyof Sample): MethodTask {
  const instance = new Sample();
  const declaration: TaskDeclaration = Reflect.getMetadata(CELERY_TASK_METADATA, Sample.prototype[method]);
  return buildMethodTask(
    { declaration, instance, method: Sample.prototype[method], methodName: method, source: `Sample.${method}`, moduleKey: '' },
    () => {
      throw new Error('a task without enhancers must not go through the Nest pipeline');
    },
  );
}

describe('binding Celery args and kwargs like Python', () => {
  it('binds positional and keyword arguments', () => {
    const add = definition('add');
    expect(add.prepare([2], { y: 3 })()).toBe(5);
    expect(add.prepare([], { y: 3, x: 4 })()).toBe(7);
    const greet = definition('greet');
    expect(greet.prepare(['Ada'], { punctuation: '?' })()).toBe('hello Ada?');
    expect(greet.prepare([], { name: 'Ada', greeting: 'hi' })()).toBe('hi Ada!');
    const sum = definition('sum');
    expect(sum.prepare([1, 2, 3, 4], {})()).toBe(10);
    expect(definition('count').prepare([1, 2, 3], {})()).toBe(3);
  });

  it('hands the message its own args list when there are no kwargs, and a copy when kwargs fill it', () => {
    const add = definition('add');
    const args = [1, 2];
    expect(add.bindArguments(args, {})).toBe(args);
    const bound = add.bindArguments([1], { y: 2 });
    expect(bound).toEqual([1, 2]);
  });

  it.each([
    ['add', [1, 2, 3], {}, "sample.add() takes 2 positional arguments but 3 were given"],
    ['add', [1], { z: 2 }, "sample.add() got an unexpected keyword argument 'z'"],
    ['add', [1, 2], { x: 2 }, "sample.add() got multiple values for argument 'x'"],
    ['add', [1], {}, "sample.add() missing required argument 'y'"],
    ['add', [], { y: 1 }, "sample.add() missing required argument 'x'"],
    ['greet', [], { greeting: 'hi' }, "sample.greet() missing required argument 'name'"],
    ['count', [1], { values: 2 }, "sample.count() got an unexpected keyword argument 'values'"],
  ] as const)('refuses %s%j %j', (method, args, kwargs, message) => {
    const task = definition(method);
    expect(() => task.bindArguments(args as unknown as unknown[], kwargs)).toThrow(new TaskArgumentsError(`sample.${method}`, message.split('() ')[1]));
  });

  it('stores argument errors as Python TypeError', () => {
    const error = new TaskArgumentsError('t', 'x');
    expect([error.celeryExceptionType, error.celeryExceptionModule]).toEqual(['TypeError', 'builtins']);
  });
});
