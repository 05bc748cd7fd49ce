import { INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import fc from 'fast-check';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CeleryClient } from '../../lib';
import { AppModule } from '../../sample-app/src/app.module';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { deleteExchanges, deleteQueues, RABBITMQ_URL } from '../support/rabbitmq';
import { databaseChannel, RPC_CHANNEL } from '../support/result-channels';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { CELERY_PEER } from '../support/celery-peer';

/**
 * Data fidelity between our side and Python Celery 5.2.6, as property tests over generated
 * JSON values: unicode (astral-plane characters, lone surrogates, escapes), nested arrays and
 * objects, null, booleans, integers, floats, empty args and kwargs. Each value makes a round
 * trip through two independent codecs (task JSON one way; the pickled result column, or rpc://
 * reply JSON, the other), so a loss on either leg shows.
 *
 * What is not kept, by design of the languages: JS has one number type, so a Python float with
 * an integral value (1.0, -0.0) reaches us as the number 1 or 0 and goes back as the int 1 or 0,
 * and a JS number beyond 2^53 that is integral comes back from Python as an int (a bigint here).
 * Those compare by numeric value. Object key order is not compared either (JS objects put
 * integer-like keys first).
 */
describe(`data fidelity between Nest and ${CELERY_PEER.name}`, () => {
  let env: TestEnvironment;
  const extraQueues: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-fidelity');
  });

  afterAll(async () => {
    await deleteQueues(...extraQueues);
    await deleteExchanges(...extraQueues);
    await env?.dispose();
  });

  describe.each([
    ['the database tables', databaseChannel()],
    ['rpc:// replies', RPC_CHANNEL],
  ])('results through %s', (_label, channel) => {
    let app: INestApplicationContext;
    let celery: CeleryClient;
    let pythonWorker: PythonWorker;
    let nestQueue: string;
    let pythonQueue: string;
    let scratch: string;

    beforeAll(async () => {
      nestQueue = `${env.queue}-nest-${extraQueues.length}`;
      pythonQueue = `${env.queue}-python-${extraQueues.length}`;
      extraQueues.push(nestQueue, pythonQueue);
      const settings = { CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: channel.ours(env), CELERY_QUEUES: nestQueue };
      app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }, settings), { logger: process.env.TEST_LOGS ? undefined : false, abortOnError: false });
      await app.init();
      celery = app.get(CeleryClient);
      pythonWorker = await startPythonWorker({ queues: [pythonQueue], resultBackend: channel.theirs(env) });
      scratch = await mkdtemp(join(tmpdir(), 'it-fidelity-'));
    });

    afterAll(async () => {
      await pythonWorker?.stop();
      await app?.close();
      if (scratch) await rm(scratch, { recursive: true, force: true });
    });

    /** Settings for a Python client that sends to our sample worker. */
    const toOurWorker = () => ({ resultBackend: channel.theirs(env), defaultQueue: nestQueue });

    it('Nest → Python: py.arguments receives the args and kwargs we send, and its result reads back the same', async () => {
      await fc.assert(
        fc.asyncProperty(fc.array(jsonValue, { maxLength: 6 }), fc.dictionary(text, jsonValue, { maxKeys: 4, noNullPrototype: true }), async (args, kwargs) => {
          const result = await celery.send('py.arguments', args, { kwargs, queue: pythonQueue });
          expectSameAfterRoundTrip({ args, kwargs }, await result.get({ timeout: 15_000 }));
        }),
        // A failure shrinks by sending more tasks: bounded, so a red run stays quick.
        { numRuns: 25, interruptAfterTimeLimit: 20_000 },
      );
    }, 60_000);

    it('Python → Nest: tasks.echo returns to Python exactly what Python sent', async () => {
      // Sampled up front and sent by one Python process (a Python start per run would be slow);
      // a failure names its batch, path and the seed that reproduces it.
      const seed = Date.now() | 0;
      const batches = fc.sample(fc.array(pythonValue, { minLength: 1, maxLength: 6 }), { numRuns: 25, seed });
      const file = join(scratch, 'batches.json');
      await writeFile(file, JSON.stringify(batches), 'utf8');
      const mismatches = await runInteropClient(
        `
import json
from fidelity import echo_batches
print(json.dumps(echo_batches(${JSON.stringify(file)})))
`,
        toOurWorker(),
      );
      expect({ seed, mismatches }).toEqual({ seed, mismatches: [] });
    }, 60_000);

    it('empty args and kwargs, empty lists and dicts, arrive empty', async () => {
      expect(await (await celery.send('py.arguments', [], { queue: pythonQueue })).get({ timeout: 15_000 })).toEqual({ args: [], kwargs: {} });
      const fromPython = await runInteropClient(
        `
import json
from interop_tasks import echo
print(json.dumps([echo.apply_async(([],)).get(timeout=15), echo.apply_async(kwargs={"value": {}}).get(timeout=15)]))
`,
        toOurWorker(),
      );
      expect(fromPython).toEqual([[], {}]);
    });

    it('strings with lone surrogates (valid Python str) come back from our worker unchanged', async () => {
      // Not "\\udbff\\udfff": a high then a low surrogate is one astral character in JSON, even
      // from Python to Python.
      const outcome = await runInteropClient(
        `
import json
from celery.exceptions import TimeoutError
from interop_tasks import echo
sent = ["\\ud800", "a\\udfffb", "\\udc00\\ud800", {"\\udc00": ["\\ud83d"]}]
result = echo.apply_async((sent,))
try:
    print(json.dumps({"same": result.get(timeout=5) == sent}))
except TimeoutError:
    print(json.dumps({"same": False, "state": result.state}))
`,
        toOurWorker(),
      );
      expect(outcome).toEqual({ same: true });
    });

    it('integral numbers beyond 2^53 we send reach Python with their value', async () => {
      // JS prints 2 ** 60 as 1152921504606847000: the same double to JS, but read as an int
      // by Python it is another number. Python must get the double's own value (as a float or as
      // the exact int), and so read back equal.
      const sent = [2 ** 60, 2 ** 53 + 2, -(2 ** 62), 1e20, 123456789012345680000];
      const result = await celery.send('py.roundtrip', [sent], { queue: pythonQueue });
      expectSameAfterRoundTrip(sent, await result.get({ timeout: 15_000 }));
    });

    it('Python floats with integral values come back equal in value (as ints: JS has one number type)', async () => {
      const outcome = await runInteropClient(
        `
import json
from interop_tasks import echo
sent = [1.0, -0.0, 2.0 ** 60, 1e300, 0.1, -2.5, 5e-324, 1.7976931348623157e308]
received = echo.apply_async((sent,)).get(timeout=15)
print(json.dumps({"equal": [a == b for a, b in zip(sent, received)], "length": len(received)}))
`,
        toOurWorker(),
      );
      expect(outcome).toEqual({ equal: Array(8).fill(true), length: 8 });
    });

    it('integers beyond 2^53 from Python reach our echo and return as the exact int', async () => {
      const outcome = await runInteropClient(
        `
import json
from interop_tasks import echo
sent = [2 ** 70, -(2 ** 64) + 1, {"nested": [2 ** 53 + 1]}]
received = echo.apply_async((sent,)).get(timeout=15)
print(json.dumps({"exact": received == sent and all(type(a) is type(b) for a, b in zip(sent[:2], received[:2])), "received": repr(received)}))
`,
        toOurWorker(),
      );
      expect(outcome).toEqual({ exact: true, received: '[1180591620717411303424, -18446744073709551615, {\'nested\': [9007199254740993]}]' });
    });

    it('bigints we send reach Python as exact ints and come back as the same bigints', async () => {
      const sent = [2n ** 70n, -(2n ** 64n) + 1n, 2n ** 53n + 1n];
      const result = await celery.send('py.roundtrip', [sent], { queue: pythonQueue });
      expect(await result.get({ timeout: 15_000 })).toEqual(sent);
    });
  });
});

/** Unicode where it can go wrong: astral-plane pairs, lone surrogates, escapes, separators. */
const codeUnits = fc.oneof(
  fc.string({ unit: 'binary', minLength: 1, maxLength: 1 }),
  fc.integer({ min: 0xd800, max: 0xdfff }).map((unit) => String.fromCharCode(unit)),
  fc.constantFrom('"', '\\', '/', '\u0000', '\n', '\u007f', '\u2028', '\ufeff', '😀', '𝄞'),
);
const text = fc.oneof(fc.string({ unit: codeUnits, maxLength: 12 }), fc.constantFrom('', '__proto__', 'constructor', '1', '00'));

/** Any JSON value a JS caller can send (NaN and ±Infinity cannot travel as JSON). */
const { jsonValue } = fc.letrec<{ jsonValue: unknown }>((tie) => ({
  jsonValue: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }),
    text,
    fc.array(tie('jsonValue'), { maxLength: 4 }),
    fc.dictionary(text, tie('jsonValue'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

/** A Python value described in JSON: floats marked `{"__float__": "…"}` (see test/python/fidelity.py). */
const { pythonValue } = fc.letrec<{ pythonValue: unknown }>((tie) => ({
  pythonValue: fc.oneof(
    { depthSize: 'small' },
    fc.constant(null),
    fc.boolean(),
    fc.maxSafeInteger(),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((float) => ({ __float__: Object.is(float, -0) ? '-0.0' : String(float) })),
    text,
    fc.array(tie('pythonValue'), { maxLength: 4 }),
    fc.dictionary(text, tie('pythonValue'), { maxKeys: 4, noNullPrototype: true }),
  ),
}));

/**
 * Fails with the path of the first difference between what we sent and what came back, where
 * numbers compare by value (an integral number may come back as a bigint, -0 as 0).
 */
function expectSameAfterRoundTrip(sent: unknown, received: unknown): void {
  const found = difference(sent, received, '$');
  if (found) throw new Error(`Round trip changed the value at ${found}\nsent:     ${show(sent)}\nreceived: ${show(received)}`);
}

function difference(sent: unknown, received: unknown, path: string): string | undefined {
  if (isNumeric(sent) && isNumeric(received)) return numericallyEqual(sent, received) ? undefined : path;
  if (Array.isArray(sent)) {
    if (!Array.isArray(received) || received.length !== sent.length) return path;
    for (let index = 0; index < sent.length; index++) {
      const found = difference(sent[index], received[index], `${path}[${index}]`);
      if (found) return found;
    }
    return undefined;
  }
  if (isObject(sent)) {
    if (!isObject(received) || Array.isArray(received)) return path;
    const keys = Object.keys(sent);
    if (keys.length !== Object.keys(received).length || !keys.every((key) => Object.hasOwn(received, key))) return `${path} (keys)`;
    for (const key of keys) {
      const found = difference(sent[key], received[key], `${path}[${JSON.stringify(key)}]`);
      if (found) return found;
    }
    return undefined;
  }
  return sent === received ? undefined : path;
}

function isNumeric(value: unknown): value is number | bigint {
  return typeof value === 'number' || typeof value === 'bigint';
}

function numericallyEqual(left: number | bigint, right: number | bigint): boolean {
  if (typeof left === typeof right) return left == right; // == also makes -0 equal 0
  const [number, bigint] = (typeof left === 'number' ? [left, right] : [right, left]) as [number, bigint];
  return Number.isInteger(number) && BigInt(number) === bigint;
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null;
}

/** JSON, except that bigints and integral numbers beyond 2^53 show their exact digits. */
function show(value: unknown): string {
  return JSON.stringify(value, (_key, item) => {
    if (typeof item === 'bigint') return `${item}n`;
    if (typeof item === 'number' && Number.isInteger(item) && !Number.isSafeInteger(item)) return `${BigInt(item)} (a double)`;
    return item;
  });
}
