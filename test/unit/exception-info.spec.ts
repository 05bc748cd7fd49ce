import { spawnSync } from 'node:child_process';
import { InvalidPythonExceptionNameError } from '../../lib/errors/invalid-python-exception-name.error';
import { PythonException } from '../../lib/errors/python-exception';
import { TaskFailedError } from '../../lib/errors/task-failed.error';
import { exceptionRepr } from '../../lib/events/exception-repr';
import { exceptionMessage, pythonExceptionDict, toExceptionInfo } from '../../lib/protocol/exception-info';
import { JAVASCRIPT_ERROR_CLASSES, PYTHON_BUILTIN_EXCEPTIONS, SYSTEM_ERROR_CLASSES } from '../../lib/protocol/python-exception-classes';
import { EXCEPTION_CASES } from '../support/exception-cases';
import { PYTHON, pythonEnvironment } from '../support/python-celery';

describe('toExceptionInfo: the Python class a thrown value is stored as', () => {
  it.each(EXCEPTION_CASES.map((item) => [item.label, item] as const))('%s', async (_label, item) => {
    const info = toExceptionInfo(await item.make());
    const { exc_message, ...identity } = item.stored;
    expect({ exc_type: info.exc_type, exc_module: info.exc_module, ...(info.exc_js_type === undefined ? {} : { exc_js_type: info.exc_js_type }) }).toEqual(identity);
    if (exc_message) expect(info.exc_message).toEqual(exc_message);
    else expect(info.exc_message).toHaveLength(1);
  });

  it('has a case for every row of every table, so a row added without a test fails here', () => {
    const covered = new Set(EXCEPTION_CASES.map((item) => item.row).filter(Boolean));
    const rows = [
      ...Object.keys(JAVASCRIPT_ERROR_CLASSES).map((name) => `javascript:${name}`),
      ...Object.keys(SYSTEM_ERROR_CLASSES).map((code) => `system:${code}`),
      ...[...PYTHON_BUILTIN_EXCEPTIONS].filter((name) => !(name in JAVASCRIPT_ERROR_CLASSES)).map((name) => `builtin-name:${name}`),
    ];
    expect(rows.filter((row) => !covered.has(row as never))).toEqual([]);
  });

  it("keeps the error's message as the one argument, and its stack names the JavaScript class", () => {
    const error = new RangeError('amount -5 is out of range');
    expect(toExceptionInfo(error)).toEqual({ exc_type: 'ValueError', exc_message: ['amount -5 is out of range'], exc_module: 'builtins', exc_js_type: 'RangeError' });
    expect(error.stack).toMatch(/^RangeError: amount -5 is out of range\n/);
  });
});

describe('the tables agree with Python itself', () => {
  /** Runs Python (no Celery needed) on a JSON request; returns its JSON answer. */
  function askPython(script: string, request: unknown): any {
    const run = spawnSync(PYTHON, ['-c', script], { input: JSON.stringify(request), encoding: 'utf8', env: pythonEnvironment() });
    if (run.status !== 0) throw new Error(`Python failed: ${run.stderr}`);
    return JSON.parse(run.stdout);
  }

  it('each errno code maps to the OSError subclass Python picks for that errno', () => {
    const answer = askPython(
      `import errno, json, sys
print(json.dumps({code: type(OSError(getattr(errno, code), 'm')).__name__ for code in json.load(sys.stdin)}))`,
      Object.keys(SYSTEM_ERROR_CLASSES),
    );
    expect(answer).toEqual(Object.fromEntries(Object.entries(SYSTEM_ERROR_CLASSES).map(([code, python]) => [code, python.type])));
  });

  it('each Python built-in name is an Exception in builtins that a message alone constructs', () => {
    const answer = askPython(
      `import builtins, json, sys
def check(name):
    cls = getattr(builtins, name, None)
    if not (isinstance(cls, type) and issubclass(cls, Exception)):
        return 'not an Exception'
    try:
        return 'ok' if cls('message').args == ('message',) else 'other args'
    except Exception as error:
        return repr(error)
print(json.dumps({name: check(name) for name in json.load(sys.stdin)}))`,
      [...PYTHON_BUILTIN_EXCEPTIONS, ...Object.values(JAVASCRIPT_ERROR_CLASSES).flatMap((python) => (python ? [python.type] : []))],
    );
    expect(Object.entries(answer).filter(([, verdict]) => verdict !== 'ok')).toEqual([]);
  });
});

describe('PythonException', () => {
  it('names a class by module and name, and keeps its arguments as exc_message', () => {
    const error = new PythonException('myproj.errors.PaymentDeclined', 'card refused', 42, { card: 'visa' });
    expect(toExceptionInfo(error)).toEqual({ exc_type: 'PaymentDeclined', exc_module: 'myproj.errors', exc_message: ['card refused', 42, { card: 'visa' }] });
    expect(error.message).toBe("myproj.errors.PaymentDeclined('card refused', 42, {'card': 'visa'})");
    expect(error).toBeInstanceOf(Error);
    expect(error.name).toBe('PythonException');
  });

  it('reads a name without dots as a built-in, and takes a nested class as { module, type }', () => {
    expect(toExceptionInfo(new PythonException('LookupError'))).toEqual({ exc_type: 'LookupError', exc_module: 'builtins', exc_message: [] });
    expect(new PythonException('LookupError').message).toBe('LookupError()');
    expect(toExceptionInfo(new PythonException({ module: 'shop.errors', type: 'Payment.Declined' }, 'x'))).toMatchObject({ exc_type: 'Payment.Declined', exc_module: 'shop.errors' });
  });

  it.each([
    ['an empty name', ''],
    ['a trailing dot', 'myproj.errors.'],
    ['a space', 'myproj.Payment Declined'],
    ['a leading digit', '1errors.Declined'],
    ['SystemExit, which would stop the Python client', 'SystemExit'],
    ['KeyboardInterrupt', 'builtins.KeyboardInterrupt'],
  ])('refuses %s', (_label, name) => {
    expect(() => new PythonException(name)).toThrow(InvalidPythonExceptionNameError);
    expect(() => new PythonException(name)).toThrow(/Expected the class's module and name joined by dots/);
  });

  it('refuses an object form with a missing part', () => {
    expect(() => new PythonException({ module: 'payments', type: '' })).toThrow(InvalidPythonExceptionNameError);
  });
});

describe('what every backend writes: pythonExceptionDict', () => {
  it("puts Celery's three keys first, in prepare_exception's order, then exc_js_type when there is one", () => {
    expect(Object.keys(pythonExceptionDict(toExceptionInfo(new RangeError('x'))))).toEqual(['exc_type', 'exc_message', 'exc_module', 'exc_js_type']);
    expect(Object.keys(pythonExceptionDict(toExceptionInfo(new PythonException('ValueError', 'x'))))).toEqual(['exc_type', 'exc_message', 'exc_module']);
    expect(pythonExceptionDict({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: undefined as never })).toEqual({ exc_type: 'ValueError', exc_message: ['boom'], exc_module: null });
  });
});

describe('TaskFailedError: what AsyncResult.get() throws', () => {
  it('exposes the Python class and, for an error a Nest task threw, the JavaScript class too', () => {
    const error = new TaskFailedError('t1', 'FAILURE', toExceptionInfo(new RangeError('amount -5')), 'RangeError: amount -5\n    at …');
    expect(error).toMatchObject({ excType: 'ValueError', excModule: 'builtins', excMessage: ['amount -5'], excJsType: 'RangeError' });
    expect(error.message).toBe('Task t1 ended in FAILURE: ValueError: amount -5 (thrown in JavaScript as RangeError)');
  });

  it('has no JavaScript class for a failure a Python worker stored', () => {
    const error = new TaskFailedError('t2', 'FAILURE', { exc_type: 'PaymentDeclined', exc_message: ['card refused', 42], exc_module: 'payments' }, null);
    expect(error).toMatchObject({ excType: 'PaymentDeclined', excModule: 'payments', excMessage: ['card refused', 42], excJsType: null });
    expect(error.message).toBe('Task t2 ended in FAILURE: PaymentDeclined: card refused, 42');
  });

  it('does not repeat the class when both languages name it alike', () => {
    expect(new TaskFailedError('t3', 'FAILURE', toExceptionInfo(new TypeError('bad')), null).message).toBe('Task t3 ended in FAILURE: TypeError: bad');
  });

  it('fails a task that lets it escape with the same Python exception, as a Celery task whose .get() raised it', () => {
    const inner = new TaskFailedError('t4', 'FAILURE', { exc_type: 'PaymentDeclined', exc_message: ['card refused', 42], exc_module: 'payments' }, null);
    expect(toExceptionInfo(inner)).toEqual({ exc_type: 'PaymentDeclined', exc_message: ['card refused', 42], exc_module: 'payments' });
    const revoked = new TaskFailedError('t5', 'REVOKED', { exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' }, null);
    expect(toExceptionInfo(revoked)).toEqual({ exc_type: 'TaskRevokedError', exc_message: ['revoked'], exc_module: 'celery.exceptions' });
  });

  it('writes a Python int beyond 2^53 (a bigint) in its message', () => {
    expect(exceptionMessage({ exc_type: 'ValueError', exc_message: [2n ** 70n, 'x'], exc_module: 'builtins' })).toBe('1180591620717411303424, x');
  });
});

describe('task-failed events show the Python class, as a Python worker sends them', () => {
  it('uses the mapped class in the repr', () => {
    expect(exceptionRepr(new RangeError('boom'))).toBe("ValueError('boom')");
    expect(exceptionRepr(new Error('boom'))).toBe("Exception('boom')");
    expect(exceptionRepr(new PythonException('payments.PaymentDeclined', 'card refused', 42))).toBe("PaymentDeclined('card refused', 42)");
  });
});
