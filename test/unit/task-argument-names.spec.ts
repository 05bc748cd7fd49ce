import { CeleryTask, TaskDeclaration } from '../../lib/decorators/celery-task.decorator';
import { CELERY_TASK_METADATA } from '../../lib/celery.constants';
import { LostTaskDecoratorError } from '../../lib/errors/lost-task-decorator.error';
import { TaskArgumentNamesError } from '../../lib/errors/task-argument-names.error';
import { buildMethodTask } from '../../lib/invocation/build-method-task';
import { checkTaskDecoratorsKept } from '../../lib/invocation/check-task-decorators-kept';
import { MethodTask } from '../../lib/task/method-task';
import { readParameters } from '../../lib/task/parameter-names';

/** Calls each wrapper made, so a test can tell the wrapper ran and not only the method. */
const wrapperCalls: string[] = [];

/**
 * A wrapping decorator as tracing and @Transactional decorators are written: the method is
 * replaced by a rest-only function that forwards its arguments, and (like typeorm-transactional)
 * the original's metadata is copied onto it so Nest still finds the decorators applied before.
 */
function Transactional(): MethodDecorator {
  return (_target, methodName, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Function;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      wrapperCalls.push(`transaction around ${String(methodName)}`);
      return original.apply(this, args);
    };
    for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), descriptor.value);
  };
}

/** The same wrapper, written without copying the metadata (a naive tracing decorator). */
function Traced(): MethodDecorator {
  return (_target, methodName, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Function;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      wrapperCalls.push(`trace of ${String(methodName)}`);
      return original.apply(this, args);
    };
  };
}

/** The task the explorer would build for `methodName` of `instance` (no Nest enhancers here). */
function build(instance: object, methodName: string): MethodTask {
  const prototype = Object.getPrototypeOf(instance);
  const method = prototype[methodName] as Function;
  const declaration: TaskDeclaration | undefined = Reflect.getMetadata(CELERY_TASK_METADATA, method);
  if (!declaration) throw new Error(`${methodName} carries no @CeleryTask() metadata`);
  return buildMethodTask({ declaration, instance, method, methodName, source: `${prototype.constructor.name}.${methodName}`, moduleKey: '' }, () => {
    throw new Error('a task without enhancers must not go through the Nest pipeline');
  });
}

describe('reading parameter names from a function', () => {
  class Shapes {
    add(x: number, y: number) {
      return x + y;
    }
    defaults(url = 'http://example.com/(a,b)', /* a, b */ label = `x, ${'y'}`, options = { a: [1, 2] }, callback = (z: number) => z) {
      return [url, label, options, callback];
    }
    async later(first: string, second?: string) {
      return first + second;
    }
    variadic(first: number, ...rest: number[]) {
      return [first, rest];
    }
    restOnly(...args: unknown[]) {
      return args;
    }
    destructured({ a }: { a: number }, b: number) {
      return a + b;
    }
    destructuredRest(first: number, ...[second]: number[]) {
      return first + second;
    }
    ['computed' + String(1)](value: number) {
      return value;
    }
    ünïcode(größe: number, $dollar: number, _under: number) {
      return größe + $dollar + _under;
    }
    none() {
      return 0;
    }
  }
  const method = (name: string) => (Shapes.prototype as unknown as Record<string, Function>)[name];

  it.each([
    ['add', ['x', 'y'], false],
    ['defaults', ['url', 'label', 'options', 'callback'], false],
    ['later', ['first', 'second'], false],
    ['variadic', ['first'], true],
    ['restOnly', [], true],
    ['computed1', ['value'], false],
    ['ünïcode', ['größe', '$dollar', '_under'], false],
    ['none', [], false],
  ])('reads %s', (name, names, hasRest) => {
    expect(readParameters(method(name))).toEqual({ readable: true, names, hasRest });
  });

  it('reads arrow functions and function expressions', () => {
    expect(readParameters((value: number) => value)).toEqual({ readable: true, names: ['value'], hasRest: false });
    expect(readParameters(async (a: number, b: number) => a + b)).toEqual({ readable: true, names: ['a', 'b'], hasRest: false });
    // eslint-disable-next-line prefer-arrow-callback
    expect(readParameters(function named(a: number, b = 2) { return a + b; })).toEqual({ readable: true, names: ['a', 'b'], hasRest: false });
    expect(readParameters(new Function('a', 'b', 'return a + b'))).toEqual({ readable: true, names: ['a', 'b'], hasRest: false });
  });

  it.each([
    ['a destructured parameter', method('destructured'), /destructured parameter \(#1: \{ a \}\)/],
    ['a destructured rest parameter', method('destructuredRest'), /destructured rest parameter/],
    ['a bound function', method('add').bind(null), /native code/],
    ['a built-in', Math.max, /native code/],
    ['a proxy', new Proxy(method('add'), {}), /native code/],
  ])('reports %s as unreadable, with what it saw', (_label, fn, seen) => {
    const reading = readParameters(fn);
    expect(reading.readable).toBe(false);
    expect(reading.readable === false && reading.seen).toMatch(seen);
  });
});

describe('@CeleryTask() and the names kwargs bind to', () => {
  beforeEach(() => {
    wrapperCalls.length = 0;
  });

  it('reads the names once, from the method it decorates', () => {
    class Tasks {
      @CeleryTask('names.add')
      add(x: number, y: number) {
        return x + y;
      }
    }
    const declaration: TaskDeclaration = Reflect.getMetadata(CELERY_TASK_METADATA, Tasks.prototype.add);
    expect(declaration.declaredMethod).toBe(Tasks.prototype.add);
    expect(declaration.parameters).toEqual({ readable: true, names: ['x', 'y'], hasRest: false });
    expect(build(new Tasks(), 'add').prepare([], { y: 2, x: 40 })()).toBe(42);
  });

  it('binds by the method’s own names when a wrapping decorator is applied above it, and runs the wrapper', () => {
    class Tasks {
      @Transactional()
      @CeleryTask('names.above')
      subtract(minuend: number, subtrahend: number) {
        return minuend - subtrahend;
      }
    }
    expect(() => checkTaskDecoratorsKept(Tasks.prototype)).not.toThrow();
    const task = build(new Tasks(), 'subtract');
    expect(task.prepare([], { subtrahend: 2, minuend: 44 })()).toBe(42);
    expect(task.prepare([50], { subtrahend: 8 })()).toBe(42);
    expect(wrapperCalls).toEqual(['transaction around subtract', 'transaction around subtract']);
    expect(() => task.prepare([1], {})).toThrow("names.above() missing required argument 'subtrahend'");
  });

  it('binds by the method’s own names when a wrapping decorator is applied below it: it reads the method the class declares, not the wrapper', () => {
    class Tasks {
      @CeleryTask('names.below')
      @Transactional()
      subtract(minuend: number, subtrahend: number) {
        return minuend - subtrahend;
      }
    }
    const declaration: TaskDeclaration = Reflect.getMetadata(CELERY_TASK_METADATA, Tasks.prototype.subtract);
    expect(String(declaration.declaredMethod)).toMatch(/^subtract\(minuend, subtrahend\)/);
    expect(String(Tasks.prototype.subtract)).toMatch(/^function \(\.\.\.args\)/);
    const task = build(new Tasks(), 'subtract');
    expect(task.prepare([], { subtrahend: 2, minuend: 44 })()).toBe(42);
    expect(wrapperCalls).toEqual(['transaction around subtract']);
    expect(() => task.prepare([], { minuend: 1 })).toThrow("names.below() missing required argument 'subtrahend'");
  });

  it('takes a method declared (...args) as positional only, refusing keywords as Python refuses them for def f(*args)', () => {
    class Tasks {
      @CeleryTask('names.variadic')
      total(...values: number[]) {
        return values.reduce((sum, value) => sum + value, 0);
      }
    }
    const task = build(new Tasks(), 'total');
    expect(task.prepare([10, 20, 12], {})()).toBe(42);
    expect(() => task.prepare([], { values: [1] })).toThrow("names.variadic() got an unexpected keyword argument 'values'");
  });

  it('binds by declared argNames whatever it saw, and runs the wrapper below it', () => {
    class Tasks {
      @CeleryTask({ name: 'names.declared', argNames: ['minuend', 'subtrahend'] })
      @Transactional()
      subtract(minuend: number, subtrahend: number) {
        return minuend - subtrahend;
      }
    }
    const task = build(new Tasks(), 'subtract');
    expect(task.prepare([], { subtrahend: 2, minuend: 44 })()).toBe(42);
    expect(wrapperCalls).toEqual(['transaction around subtract']);
    expect(() => task.prepare([1, 2, 3], {})).toThrow('names.declared() takes 2 positional arguments but 3 were given');
    expect(() => task.prepare([], { other: 1 })).toThrow("names.declared() got an unexpected keyword argument 'other'");
  });

  it('binds by argNames where the source’s names are wrong, as after a minifier', () => {
    // What a minifier makes of `scale(value, factor)`: the same code with renamed parameters.
    const minified = new Function('n', 't', 'return n * t');
    class Tasks {}
    const descriptor: PropertyDescriptor = { value: minified, writable: true, configurable: true };
    CeleryTask({ name: 'names.minified', argNames: ['value', 'factor'] })(Tasks.prototype, 'scale', descriptor);
    Object.defineProperty(Tasks.prototype, 'scale', descriptor);
    expect(build(new Tasks(), 'scale').prepare([], { factor: 2, value: 21 })()).toBe(42);
  });

  it('takes positional arguments only with argNames: [], refusing every keyword', () => {
    class Tasks {
      @CeleryTask({ name: 'names.positional', argNames: [] })
      @Transactional()
      total(...values: number[]) {
        return values.reduce((sum, value) => sum + value, 0);
      }
    }
    const task = build(new Tasks(), 'total');
    expect(task.prepare([10, 20, 12], {})()).toBe(42);
    expect(() => task.prepare([], { values: [1] })).toThrow("names.positional() got an unexpected keyword argument 'values'");
  });

  it('refuses a destructured parameter unless argNames says the names', () => {
    class Tasks {
      @CeleryTask('names.destructured')
      area({ width }: { width: number }, height: number) {
        return width * height;
      }

      @CeleryTask({ name: 'names.destructured-declared', argNames: ['size', 'height'] })
      volume({ width }: { width: number }, height: number) {
        return width * height * 2;
      }
    }
    expect(() => build(new Tasks(), 'area')).toThrow(TaskArgumentNamesError);
    expect(() => build(new Tasks(), 'area')).toThrow(
      'Task "names.destructured" (Tasks.area) cannot bind keyword arguments: @CeleryTask() saw a destructured parameter (#1: { width }), ' +
        'so the names of its parameters are not known for sure. Expected a name for each parameter. Give each parameter a name, ' +
        "or declare the names: @CeleryTask({ name: 'names.destructured', argNames: ['first', 'second'] }), or argNames: [] to take positional arguments only.",
    );
    expect(build(new Tasks(), 'volume').prepare([], { height: 3, size: { width: 7 } })()).toBe(42);
  });

  it('refuses a bound function, which has no names to read', () => {
    const descriptor: PropertyDescriptor = { value: function (x: number) { return x; }.bind(null), writable: true, configurable: true };
    class Tasks {}
    CeleryTask('names.bound')(Tasks.prototype, 'run', descriptor);
    Object.defineProperty(Tasks.prototype, 'run', descriptor);
    expect(() => build(new Tasks(), 'run')).toThrow(/names\.bound.*saw native code \(a bound function, a built-in or a Proxy\)/);
  });

  it.each([
    [['x', 'x'], "'x' is listed twice"],
    [['x', ''], '"" is not a name'],
    ['x', '"x" is not a list'],
  ])('refuses argNames %j', (argNames, problem) => {
    class Tasks {
      @CeleryTask({ name: 'names.invalid', argNames: argNames as string[] })
      run(x: number) {
        return x;
      }
    }
    expect(() => build(new Tasks(), 'run')).toThrow(`Task "names.invalid" (Tasks.run) has invalid argNames: ${problem}.`);
  });

  it('stops the start-up when a decorator above it replaced the method without copying its metadata', () => {
    class Tasks {
      @Traced()
      @CeleryTask('names.lost')
      add(x: number, y: number) {
        return x + y;
      }
    }
    expect(Reflect.getMetadata(CELERY_TASK_METADATA, Tasks.prototype.add)).toBeUndefined();
    expect(() => checkTaskDecoratorsKept(Tasks.prototype)).toThrow(LostTaskDecoratorError);
    expect(() => checkTaskDecoratorsKept(Tasks.prototype)).toThrow(/^@CeleryTask\(\) on Tasks\.add is lost: a decorator listed above it replaced the method/);
  });

  it('keeps the task, and the method’s own names, once listed above that decorator (the fix the error gives)', () => {
    class Tasks {
      @CeleryTask('names.kept')
      @Traced()
      add(x: number, y: number) {
        return x + y;
      }
    }
    expect(() => checkTaskDecoratorsKept(Tasks.prototype)).not.toThrow();
    expect(build(new Tasks(), 'add').prepare([], { y: 2, x: 40 })()).toBe(42);
    expect(wrapperCalls).toEqual(['trace of add']);
  });

  it('does not take a subclass’s override of a task method for a lost decorator, and finds one lost in a base class', () => {
    class Base {
      @CeleryTask('names.base')
      add(x: number, y: number) {
        return x + y;
      }
    }
    class Derived extends Base {
      override add(x: number, y: number) {
        return super.add(x, y) * 2;
      }
    }
    expect(() => checkTaskDecoratorsKept(Derived.prototype)).not.toThrow();
    class LostBase {
      @Traced()
      @CeleryTask('names.lost-base')
      add(x: number) {
        return x;
      }
    }
    class FromLostBase extends LostBase {}
    expect(() => checkTaskDecoratorsKept(FromLostBase.prototype)).toThrow('@CeleryTask() on LostBase.add is lost');
  });
});
