import { INestApplicationContext, Injectable } from '@nestjs/common';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { CeleryClient, CeleryTask, PythonException, TaskFailedError } from '../../lib';
import { pickleResultColumn } from '../../lib/backend/database/result-column-pickle';
import { encodeRedisResultMeta } from '../../lib/backend/redis/redis-result-meta';
import { encodeRpcReply } from '../../lib/backend/rpc/encode-rpc-reply';
import { toExceptionInfo } from '../../lib/protocol/exception-info';
import { TaskResultMeta } from '../../lib/protocol/result-meta';
import { startCeleryApp } from '../support/celery-app';
import { EXCEPTION_CASES } from '../support/exception-cases';
import { runPython } from '../support/python-celery';
import { INTEROP_PYTHON_DIR, PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { deleteExchanges, deleteQueues, RABBITMQ_URL } from '../support/rabbitmq';
import { databaseChannel, RPC_CHANNEL } from '../support/result-channels';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/**
 * Exceptions Python can catch: what a Nest task throws is stored as a Python class that Python's
 * `except` clauses name (lib/protocol/python-exception-classes.ts), and what a Python task raises
 * reaches our TaskFailedError with its type and module. Against real Python Celery: Debian's 5.2.6
 * by default, or the one first on PYTHONPATH (`PYTHONPATH=/tmp/celery-5.6`, shared/peers/README.md).
 */

class CardLimitExceeded extends RangeError {}
class GatewayDown extends Error {}

@Injectable()
class PaymentTasks {
  @CeleryTask({ name: 'exc.charge' })
  charge(amount: number): never {
    throw new RangeError(`amount ${amount} is out of range`);
  }

  @CeleryTask({ name: 'exc.parse_card' })
  parseCard(card: unknown): never {
    throw new TypeError(`expected a card number, got ${typeof card}`);
  }

  @CeleryTask({ name: 'exc.broken' })
  broken(): never {
    throw new Error('something broke');
  }

  @CeleryTask({ name: 'exc.decline' })
  decline(reason: string, code: number): never {
    throw new PythonException('payments.PaymentDeclined', reason, code);
  }

  @CeleryTask({ name: 'exc.expire' })
  expire(month: string): never {
    throw new PythonException({ module: 'payments', type: 'Card.Expired' }, month);
  }

  @CeleryTask({ name: 'exc.over_limit' })
  overLimit(): never {
    throw new CardLimitExceeded('over the card limit');
  }

  @CeleryTask({ name: 'exc.gateway' })
  gateway(): never {
    throw new GatewayDown('gateway answered 503');
  }

  @CeleryTask({ name: 'exc.receipt' })
  async receipt(): Promise<string> {
    return readFile('/nonexistent/receipt.pdf', 'utf8');
  }
}

/** Each call, caught by the first `except` clause that matches, most specific first. */
const CATCHING_CLIENT = `
import json, celery, payments
from interop_tasks import app

def outcome(result):
    try:
        result.get(timeout=20)
    except payments.PaymentDeclined as error:
        return described("payments.PaymentDeclined", error, result)
    except payments.Card.Expired as error:
        return described("payments.Card.Expired", error, result)
    except FileNotFoundError as error:
        return described("FileNotFoundError", error, result)
    except ValueError as error:
        return described("ValueError", error, result)
    except TypeError as error:
        return described("TypeError", error, result)
    except Exception as error:
        return described("Exception", error, result)
    return {"caught": None}

def described(clause, error, result):
    cls = type(error)
    first_line = result.traceback.splitlines()[0] if result.traceback else None
    return {"caught": clause, "class": cls.__module__ + "." + cls.__qualname__, "args": list(error.args),
            "traceback_starts": first_line, "state": result.state, "id": result.id}

calls = {
    "charge": app.send_task("exc.charge", (-5,)),
    "parse_card": app.send_task("exc.parse_card", (None,)),
    "broken": app.send_task("exc.broken"),
    "decline": app.send_task("exc.decline", ("card refused", 42)),
    "expire": app.send_task("exc.expire", ("2024-01",)),
    "over_limit": app.send_task("exc.over_limit"),
    "gateway": app.send_task("exc.gateway"),
    "receipt": app.send_task("exc.receipt"),
}
print(json.dumps({"celery": celery.__version__, "outcomes": {name: outcome(result) for name, result in calls.items()}}))
`;

describe('exceptions Python can catch', () => {
  let env: TestEnvironment;
  const extraQueues: string[] = [];

  beforeAll(async () => {
    env = await createTestEnvironment('it-pyexc');
  });

  afterAll(async () => {
    await deleteQueues(...extraQueues);
    await deleteExchanges(...extraQueues);
    await env?.dispose();
  });

  function extraQueue(purpose: string): string {
    const queue = `${env.queue}-${purpose}-${extraQueues.length}`;
    extraQueues.push(queue);
    return queue;
  }

  describe.each([
    ['the database tables', databaseChannel()],
    ['rpc:// replies', RPC_CHANNEL],
  ])('a Python client calling Nest tasks, results through %s', (_label, channel) => {
    let app: INestApplicationContext;
    let queue: string;

    beforeAll(async () => {
      queue = extraQueue('nest');
      app = await startCeleryApp({ broker: RABBITMQ_URL, backend: channel.ours(env), defaultQueue: queue }, [PaymentTasks]);
    });

    afterAll(async () => {
      await app?.close();
    });

    it('catches each failure with the except clause a Python task would need', async () => {
      const { outcomes } = await runInteropClient(CATCHING_CLIENT, { resultBackend: channel.theirs(env), defaultQueue: queue });
      const failure = { state: 'FAILURE', id: expect.any(String) };
      expect(outcomes).toEqual({
        charge: { ...failure, caught: 'ValueError', class: 'builtins.ValueError', args: ['amount -5 is out of range'], traceback_starts: 'RangeError: amount -5 is out of range' },
        parse_card: { ...failure, caught: 'TypeError', class: 'builtins.TypeError', args: ['expected a card number, got object'], traceback_starts: 'TypeError: expected a card number, got object' },
        broken: { ...failure, caught: 'Exception', class: 'builtins.Exception', args: ['something broke'], traceback_starts: 'Error: something broke' },
        decline: {
          ...failure,
          caught: 'payments.PaymentDeclined',
          class: 'payments.PaymentDeclined',
          args: ['card refused', 42],
          traceback_starts: "PythonException: payments.PaymentDeclined('card refused', 42)",
        },
        expire: { ...failure, caught: 'payments.Card.Expired', class: 'payments.Card.Expired', args: ['2024-01'], traceback_starts: "PythonException: payments.Card.Expired('2024-01')" },
        // A subclass of RangeError: still `except ValueError`.
        over_limit: { ...failure, caught: 'ValueError', class: 'builtins.ValueError', args: ['over the card limit'], traceback_starts: 'RangeError: over the card limit' },
        // No Python class fits a subclass of plain Error: Celery makes one of its name, an Exception.
        gateway: { ...failure, caught: 'Exception', class: 'celery.backends.base.GatewayDown', args: ['gateway answered 503'], traceback_starts: 'Error: gateway answered 503' },
        // A Node.js error from outside Jest's realm keeps its stack as the traceback too.
        receipt: {
          ...failure,
          caught: 'FileNotFoundError',
          class: 'builtins.FileNotFoundError',
          args: ["ENOENT: no such file or directory, open '/nonexistent/receipt.pdf'"],
          traceback_starts: "Error: ENOENT: no such file or directory, open '/nonexistent/receipt.pdf'",
        },
      });

      if (channel.kind === 'database') {
        // Our own client reads the same rows: the Python class, and the JS class beside it.
        const celery = app.get(CeleryClient);
        const failed = async (id: string) => celery.asyncResult(id).get({ timeout: 10_000 }).catch((error: unknown) => error);
        expect(await failed(outcomes.charge.id)).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excJsType: 'RangeError' });
        expect(await failed(outcomes.over_limit.id)).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excJsType: 'CardLimitExceeded' });
        expect(await failed(outcomes.receipt.id)).toMatchObject({ excType: 'FileNotFoundError', excJsType: 'Error' });
        const declined = await failed(outcomes.decline.id);
        expect(declined).toBeInstanceOf(TaskFailedError);
        expect(declined).toMatchObject({ excType: 'PaymentDeclined', excModule: 'payments', excMessage: ['card refused', 42], excJsType: null });
      }
    }, 90_000);
  });

  describe('a Python task failing, read by our client', () => {
    let app: INestApplicationContext;
    let worker: PythonWorker;

    beforeAll(async () => {
      const queue = extraQueue('python');
      const channel = databaseChannel();
      app = await startCeleryApp({ broker: RABBITMQ_URL, backend: channel.ours(env), defaultQueue: queue, worker: false });
      worker = await startPythonWorker({ queues: [queue], resultBackend: channel.theirs(env) });
    });

    afterAll(async () => {
      await worker?.stop();
      await app?.close();
    });

    it("rejects with the Python exception's type and module, and no JavaScript class", async () => {
      const result = await app.get(CeleryClient).send('py.decline', ['card refused', 42]);
      const error = await result.get({ timeout: 20_000 }).catch((caught: unknown) => caught);
      expect(error).toBeInstanceOf(TaskFailedError);
      expect(error).toMatchObject({ state: 'FAILURE', excType: 'PaymentDeclined', excModule: 'payments', excMessage: ['card refused', 42], excJsType: null });
      expect((error as TaskFailedError).traceback).toMatch(/payments\.PaymentDeclined: \('card refused', 42\)\s*$/);
    }, 60_000);
  });

  describe("every mapping row, as each backend writes it, rebuilt by Python's exception_to_python", () => {
    const REBUILD_SCRIPT = `
import json, os, pickle, sys
import celery, payments
from celery.backends.base import Backend
from kombu.utils.json import loads

backend = Backend(app=celery.Celery(set_as_current=False))

def named(module, qualname):
    cls = sys.modules[module]
    for part in qualname.split("."):
        cls = getattr(cls, part)
    return cls

def rebuilt(stored, expected):
    error = backend.exception_to_python(stored)
    cls = type(error)
    out = {"class": cls.__module__ + "." + cls.__qualname__, "args": list(error.args), "is_exception": isinstance(error, Exception)}
    if expected["exc_module"] is not None:
        out["is_the_named_class"] = cls is named(expected["exc_module"], expected["exc_type"])
    return out

cases = json.load(open(os.environ["CASES_FILE"]))
print(json.dumps({"celery": celery.__version__, "rebuilt": {
    case["label"]: {
        "redis": rebuilt(loads(case["redis"])["result"], case["stored"]),
        "rpc": rebuilt(loads(case["rpc"])["result"], case["stored"]),
        "database": rebuilt(pickle.loads(bytes.fromhex(case["database"])), case["stored"]),
    } for case in cases}}))
`;

    it('gives the named class itself for every row with a module, and a class of the JS name for the rest', async () => {
      const cases = [];
      for (const item of EXCEPTION_CASES) {
        const info = toExceptionInfo(await item.make());
        const meta: TaskResultMeta = { taskId: 'id-1', status: 'FAILURE', result: info, traceback: null, children: [], dateDone: new Date() };
        cases.push({
          label: item.label,
          stored: info,
          redis: encodeRedisResultMeta(meta, false),
          rpc: encodeRpcReply(meta, { replyTo: 'q', correlationId: 'id-1' }, 1).body.toString('utf8'),
          database: pickleResultColumn('id-1', 'FAILURE', info)!.toString('hex'),
        });
      }
      const directory = mkdtempSync(join(tmpdir(), 'pyexc-'));
      let answer: { rebuilt: Record<string, Record<string, unknown>> };
      try {
        writeFileSync(join(directory, 'cases.json'), JSON.stringify(cases));
        const output = await runPython(REBUILD_SCRIPT, { env: { CASES_FILE: join(directory, 'cases.json') }, pythonPath: [INTEROP_PYTHON_DIR] });
        answer = JSON.parse(output.trim().split('\n').pop()!);
      } finally {
        rmSync(directory, { recursive: true, force: true });
      }
      const expected = Object.fromEntries(
        cases.map(({ label, stored }) => {
          const python =
            stored.exc_module === null
              ? { class: `celery.backends.base.${stored.exc_type}`, args: stored.exc_message, is_exception: true }
              : { class: `${stored.exc_module}.${stored.exc_type}`, args: stored.exc_message, is_exception: true, is_the_named_class: true };
          return [label, { redis: python, rpc: python, database: python }];
        }),
      );
      expect(answer.rebuilt).toEqual(expected);
    }, 60_000);
  });
});
