import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryTask } from '../../lib';
import { LostTaskDecoratorError, TaskArgumentNamesError } from '../../lib/advanced';
import { startCeleryApp } from '../support/celery-app';
import { runInteropClient } from '../support/python-worker';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { databaseChannel } from '../support/result-channels';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

/** What each wrapper saw, to prove the wrapper ran around the task and not only the method. */
const wrapped: string[] = [];

/** A wrapping decorator written like typeorm-transactional's @Transactional(): rest-only wrapper, metadata copied. */
function Transactional(): MethodDecorator {
  return (_target, methodName, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Function;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      wrapped.push(`${String(methodName)}(${args.join(', ')})`);
      return original.apply(this, args);
    };
    for (const key of Reflect.getMetadataKeys(original)) Reflect.defineMetadata(key, Reflect.getMetadata(key, original), descriptor.value);
  };
}

/** A naive tracing decorator: the same wrapper, metadata not copied. */
function Traced(): MethodDecorator {
  return (_target, _methodName, descriptor: PropertyDescriptor) => {
    const original = descriptor.value as Function;
    descriptor.value = function (this: unknown, ...args: unknown[]) {
      return original.apply(this, args);
    };
  };
}

@Injectable()
class KeywordTasks {
  @CeleryTask('kw.add')
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask('kw.greet')
  greet(name: string, greeting = 'hello', punctuation = '!'): string {
    return `${greeting} ${name}${punctuation}`;
  }

  // Decorator above @CeleryTask(): the names are read from the method before it is wrapped.
  @Transactional()
  @CeleryTask('kw.subtract')
  subtract(minuend: number, subtrahend: number): number {
    return minuend - subtrahend;
  }

  // Decorator below @CeleryTask(): the names are read from the method the class declares, not from the wrapper.
  @CeleryTask('kw.scale')
  @Transactional()
  scale(value: number, factor: number): number {
    return value * factor;
  }

  // Names declared: they win over what the source says.
  @CeleryTask({ name: 'kw.divide', argNames: ['dividend', 'divisor'] })
  @Transactional()
  divide(a: number, b: number): number {
    return a / b;
  }
}

@Injectable()
class DestructuredTask {
  @CeleryTask('kw.area')
  area({ width, height }: { width: number; height: number }): number {
    return width * height;
  }
}

@Injectable()
class LostTask {
  @Traced()
  @CeleryTask('kw.lost')
  add(x: number, y: number): number {
    return x + y;
  }
}

describe('keyword arguments bound by names known at registration', () => {
  it('stops the start-up, naming the task and the fix, when the names cannot be read', async () => {
    const start = startCeleryApp({ broker: 'memory://', backend: false }, [DestructuredTask]);
    await expect(start).rejects.toThrow(TaskArgumentNamesError);
    await expect(start).rejects.toThrow(
      /^Task "kw\.area" \(DestructuredTask\.area\) cannot bind keyword arguments: @CeleryTask\(\) saw a destructured parameter \(#1: \{ width, height \}\).*argNames/,
    );
  });

  it('stops the start-up when a decorator above @CeleryTask() dropped its metadata, instead of leaving the task unregistered', async () => {
    await expect(startCeleryApp({ broker: 'memory://', backend: false }, [LostTask])).rejects.toThrow(LostTaskDecoratorError);
  });

  describe(`called by a ${CELERY_PEER.name} client`, () => {
    let env: TestEnvironment;
    let app: INestApplicationContext;

    beforeAll(async () => {
      env = await createTestEnvironment('it-kwargs');
      app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, [KeywordTasks]);
    });

    afterAll(async () => {
      await app?.close();
      await env?.dispose();
    });

    it('binds delay(x=…, y=…) by name, through wrapping decorators above and below @CeleryTask(), and Python gets TypeError for a wrong keyword', async () => {
      wrapped.length = 0;
      const outcomes = await runInteropClient(
        `
import json
from interop_tasks import app

# Python-side stubs with the Nest tasks' names: .delay() sends; our worker runs them.
def stub(name):
    @app.task(name=name)
    def task(*args, **kwargs):
        raise RuntimeError("runs on the Nest worker")
    return task

add, greet, subtract, scale, divide = stub("kw.add"), stub("kw.greet"), stub("kw.subtract"), stub("kw.scale"), stub("kw.divide")

def outcome(result):
    try:
        return {"value": result.get(timeout=20)}
    except Exception as error:
        return {"raised": [type(error).__name__, str(error)]}

calls = {
    "add": add.delay(x=40, y=2),
    "add_mixed": add.delay(40, y=2),
    "greet": greet.delay(name="Ada", punctuation="?"),
    "subtract": subtract.delay(subtrahend=2, minuend=44),
    "scale": scale.delay(factor=2, value=21),
    "divide": divide.delay(divisor=2, dividend=84),
    "unknown": add.delay(x=1, z=2),
    "twice": add.delay(1, x=2),
    "missing": subtract.delay(minuend=1),
}
print(json.dumps({name: outcome(result) for name, result in calls.items()}))
`,
        { resultBackend: databaseChannel().theirs(env), defaultQueue: env.queue },
      );
      expect(outcomes).toEqual({
        add: { value: 42 },
        add_mixed: { value: 42 },
        greet: { value: 'hello Ada?' },
        subtract: { value: 42 },
        scale: { value: 42 },
        divide: { value: 42 },
        unknown: { raised: ['TypeError', "kw.add() got an unexpected keyword argument 'z'"] },
        twice: { raised: ['TypeError', "kw.add() got multiple values for argument 'x'"] },
        missing: { raised: ['TypeError', "kw.subtract() missing required argument 'subtrahend'"] },
      });
      // Both wrappers ran, with the arguments in the method's own order.
      expect(wrapped.sort()).toEqual(['divide(84, 2)', 'scale(21, 2)', 'subtract(44, 2)']);
    });
  });
});
