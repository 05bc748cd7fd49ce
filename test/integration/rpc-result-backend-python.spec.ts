import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryTask } from '../../lib';
import { startCeleryApp } from '../support/celery-app';
import { runPython } from '../support/python-celery';
import { deleteExchanges, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

@Injectable()
class PythonFacingTasks {
  @CeleryTask({ name: 'it.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'it.echo' })
  echo(value: unknown): unknown {
    return value;
  }

  @CeleryTask({ name: 'it.type_error' })
  typeError(message: string): never {
    throw new TypeError(message);
  }

  @CeleryTask({ name: 'it.plain_error' })
  plainError(message: string): never {
    throw new Error(message);
  }

  @CeleryTask({ name: 'it.tracked', trackStarted: true })
  async tracked(): Promise<string> {
    return 'tracked';
  }
}

/**
 * A real Python Celery 5.2.6 client (`backend='rpc://'`) sends tasks to our worker and reads the
 * replies with `.get()`: the worker must answer its reply queue exactly as a Python worker would.
 */
const CLIENT_SCRIPT = `
import json, os
from celery import Celery

app = Celery(broker=os.environ['BROKER_URL'], backend='rpc://')
queue = os.environ['QUEUE']

def failure(result):
    try:
        result.get(timeout=20)
    except Exception as error:
        return {'module': type(error).__module__, 'type': type(error).__name__, 'args': list(error.args),
                'is_builtin': type(error) in (TypeError, ValueError, Exception), 'state': result.state}
    return None

add = app.send_task('it.add', (2, 2), queue=queue)
echo = app.send_task('it.echo', ({'text': 'h\\u00e9llo', 'list': [1, 2.5, None, True], 'big': 2 ** 70},), queue=queue)
type_error = app.send_task('it.type_error', ('boom',), queue=queue)
plain_error = app.send_task('it.plain_error', ('x',), queue=queue)
tracked = app.send_task('it.tracked', queue=queue)
print(json.dumps({
    'add': add.get(timeout=20),
    'add_state': add.state,
    'echo': repr(echo.get(timeout=20)),
    'type_error': failure(type_error),
    'plain_error': failure(plain_error),
    'tracked': tracked.get(timeout=20),
}))
`;

describe('Python Celery client → Nest worker over rpc://', () => {
  const queue = uniqueName('it-rpc-python');
  let worker: INestApplicationContext;

  beforeAll(async () => {
    worker = await startCeleryApp({ broker: RABBITMQ_URL, backend: 'rpc://', defaultQueue: queue }, [PythonFacingTasks]);
  });

  afterAll(async () => {
    await worker?.close();
    await deleteQueues(queue);
    await deleteExchanges(queue);
  });

  it('answers .get() with values, and with exceptions Python re-raises by type and message', async () => {
    const output = await runPython(CLIENT_SCRIPT, { env: { BROKER_URL: `${RABBITMQ_URL}//`, QUEUE: queue }, timeoutMs: 90_000 });
    const read = JSON.parse(output.trim().split('\n').pop()!);
    expect(read.add).toBe(4);
    expect(read.add_state).toBe('SUCCESS');
    expect(read.echo).toBe("{'text': 'héllo', 'list': [1, 2.5, None, True], 'big': 1180591620717411303424}");
    // exc_module "builtins": the real Python class.
    expect(read.type_error).toEqual({ module: 'builtins', type: 'TypeError', args: ['boom'], is_builtin: true, state: 'FAILURE' });
    // A plain JS Error is stored as builtins.Exception: the real class again (python-exception-classes.ts).
    expect(read.plain_error).toEqual({ module: 'builtins', type: 'Exception', args: ['x'], is_builtin: true, state: 'FAILURE' });
    // STARTED then SUCCESS: .get() waits past the non-ready state.
    expect(read.tracked).toBe('tracked');
  }, 120_000);
});
