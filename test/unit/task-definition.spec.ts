import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { readParameterNames } from '../../lib/worker/parameter-names';
import { MethodTask } from '../../lib/worker/method-task';

class Sample {
  add(x: number, y: number) {
    return x + y;
  }
  greet(name: string, greeting = 'hello', /* a comment, with a comma */ punctuation = '!') {
    return `${greeting} ${name}${punctuation}`;
  }
  sum(first: number, ...rest: number[]) {
    return rest.reduce((total, value) => total + value, first);
  }
  pick({ a }: { a: number }, b: number) {
    return a + b;
  }
}

function definition(method: keyof Sample): MethodTask {
  const instance = new Sample();
  return new MethodTask(`sample.${method}`, instance[method] as (...args: unknown[]) => unknown, instance, {}, `Sample.${method}`);
}

describe('parameter names', () => {
  it('reads names, defaults, comments, rest and destructuring', () => {
    expect(readParameterNames(Sample.prototype.add)).toEqual({ names: ['x', 'y'], hasRest: false });
    expect(readParameterNames(Sample.prototype.greet)).toEqual({ names: ['name', 'greeting', 'punctuation'], hasRest: false });
    expect(readParameterNames(Sample.prototype.sum)).toEqual({ names: ['first'], hasRest: true });
    expect(readParameterNames(Sample.prototype.pick)).toEqual({ names: [null, 'b'], hasRest: false });
    expect(readParameterNames(((value: number) => value) as never)).toEqual({ names: ['value'], hasRest: false });
  });
});

describe('binding Celery args and kwargs like Python', () => {
  it('binds positional and keyword arguments', () => {
    const add = definition('add');
    expect(add.prepare([2], { y: 3 })()).toBe(5);
    expect(add.prepare([], { y: 3, x: 4 })()).toBe(7);
    const greet = definition('greet');
    expect(greet.prepare(['Ada'], { punctuation: '?' })()).toBe('hello Ada?');
    const sum = definition('sum');
    expect(sum.prepare([1, 2, 3, 4], {})()).toBe(10);
  });

  it.each([
    ['add', [1, 2, 3], {}, "sample.add() takes 2 positional arguments but 3 were given"],
    ['add', [1], { z: 2 }, "sample.add() got an unexpected keyword argument 'z'"],
    ['add', [1, 2], { x: 2 }, "sample.add() got multiple values for argument 'x'"],
    ['add', [1], {}, "sample.add() missing required argument 'y'"],
  ] as const)('refuses %s%j %j', (method, args, kwargs, message) => {
    const task = definition(method);
    expect(() => task.bindArguments(args as unknown as unknown[], kwargs)).toThrow(new TaskArgumentsError(`sample.${method}`, message.split('() ')[1]));
  });

  it('stores argument errors as Python TypeError', () => {
    const error = new TaskArgumentsError('t', 'x');
    expect([error.celeryExceptionType, error.celeryExceptionModule]).toEqual(['TypeError', 'builtins']);
  });
});
