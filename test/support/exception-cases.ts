import { mkdirSync, readFileSync } from 'node:fs';
import { connect } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { runInNewContext } from 'node:vm';
import { InvalidTaskMessageError } from '../../lib/errors/invalid-task-message.error';
import { MaxRetriesExceededError } from '../../lib/errors/max-retries-exceeded.error';
import { MessageSecurityError } from '../../lib/errors/message-security.error';
import { NotRegisteredError } from '../../lib/errors/not-registered.error';
import { PythonException } from '../../lib/errors/python-exception';
import { ResultEncodeError } from '../../lib/errors/result-encode.error';
import { TaskArgumentsError } from '../../lib/errors/task-arguments.error';
import { TaskRevokedError } from '../../lib/errors/task-revoked.error';
import { SoftTimeLimitExceeded, TimeLimitExceeded } from '../../lib/errors/time-limit.errors';
import { WorkerLostError } from '../../lib/errors/worker-lost.error';
import { JAVASCRIPT_ERROR_CLASSES, PYTHON_BUILTIN_EXCEPTIONS, SYSTEM_ERROR_CLASSES } from '../../lib/protocol/python-exception-classes';

/** What a thrown value must be stored as: the exception dict's keys (exc_message only when checked). */
export interface StoredAs {
  exc_type: string;
  exc_module: string | null;
  exc_js_type?: string;
  exc_message?: unknown[];
}

/**
 * One row of the JS → Python mapping, with a real error of that kind. `row` names the table entry
 * it covers, so a row added to a table without a case here fails the unit test.
 */
export interface ExceptionCase {
  label: string;
  row?: `javascript:${string}` | `system:${string}` | `builtin-name:${string}`;
  make: () => unknown | Promise<unknown>;
  stored: StoredAs;
}

/** The value a function throws (or the rejection of the promise it returns). */
export async function thrownBy(run: () => unknown): Promise<unknown> {
  try {
    await run();
  } catch (error) {
    return error;
  }
  throw new Error(`expected ${run} to throw`);
}

const builtin = (exc_type: string, exc_js_type: string): StoredAs => ({ exc_type, exc_module: 'builtins', exc_js_type });

/** A system error as Node.js makes them (code, negative errno, syscall), for codes we cannot provoke here. */
function systemError(code: string): Error {
  return Object.assign(new Error(`${code}: simulated, read`), { code, errno: -1, syscall: 'read' });
}

/** ECONNREFUSED from a real connect to a port nothing listens on (port 1 on the loopback). */
function refusedConnection(): Promise<unknown> {
  return new Promise((resolve) => connect(1, '127.0.0.1').once('error', resolve));
}

class PaymentDeclined extends Error {}
class CardDeclined extends RangeError {}
class ValidationFailed extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** A class whose name is `name`, extending Error: `class KeyError extends Error {}`. */
function errorClassNamed(name: string): new (message: string) => Error {
  return { [name]: class extends Error {} }[name];
}

const realErrors: ExceptionCase[] = [
  { label: 'new Error()', row: 'javascript:Error', make: () => new Error('plain'), stored: { ...builtin('Exception', 'Error'), exc_message: ['plain'] } },
  { label: 'reading a property of null', row: 'javascript:TypeError', make: () => thrownBy(() => (null as unknown as { x: number }).x), stored: builtin('TypeError', 'TypeError') },
  { label: 'new Array(-1)', row: 'javascript:RangeError', make: () => thrownBy(() => new Array(-1)), stored: builtin('ValueError', 'RangeError') },
  { label: "JSON.parse('{')", row: 'javascript:SyntaxError', make: () => thrownBy(() => JSON.parse('{')), stored: builtin('ValueError', 'SyntaxError') },
  { label: 'an unbound name', row: 'javascript:ReferenceError', make: () => thrownBy(() => new Function('return notDefinedAnywhere')()), stored: builtin('NameError', 'ReferenceError') },
  { label: "decodeURIComponent('%')", row: 'javascript:URIError', make: () => thrownBy(() => decodeURIComponent('%')), stored: builtin('ValueError', 'URIError') },
  { label: 'AbortSignal.timeout()', row: 'javascript:TimeoutError', make: timeoutReason, stored: builtin('TimeoutError', 'TimeoutError') },
  { label: 'new EvalError()', row: 'javascript:EvalError', make: () => new EvalError('eval'), stored: { exc_type: 'EvalError', exc_module: null, exc_js_type: 'EvalError' } },
  {
    label: 'Promise.any of rejections',
    row: 'javascript:AggregateError',
    make: () => thrownBy(() => Promise.any([Promise.reject(new Error('a'))])),
    stored: { exc_type: 'AggregateError', exc_module: null, exc_js_type: 'AggregateError', exc_message: ['All promises were rejected'] },
  },
  { label: 'AbortSignal.abort() (DOMException)', row: 'javascript:AbortError', make: () => AbortSignal.abort().reason, stored: { exc_type: 'AbortError', exc_module: null, exc_js_type: 'AbortError' } },
  {
    label: "Node's AbortError (an aborted timer)",
    make: () => thrownBy(() => sleep(10, undefined, { signal: AbortSignal.abort() })),
    stored: { exc_type: 'AbortError', exc_module: null, exc_js_type: 'AbortError' },
  },
  { label: 'reading a missing file', row: 'system:ENOENT', make: () => thrownBy(() => readFileSync('/nonexistent/file')), stored: builtin('FileNotFoundError', 'Error') },
  { label: 'reading a directory', row: 'system:EISDIR', make: () => thrownBy(() => readFileSync('/')), stored: builtin('IsADirectoryError', 'Error') },
  { label: 'a path through a file', row: 'system:ENOTDIR', make: () => thrownBy(() => readFileSync('/etc/hostname/x')), stored: builtin('NotADirectoryError', 'Error') },
  { label: 'creating an existing directory', row: 'system:EEXIST', make: () => thrownBy(() => mkdirSync('/tmp')), stored: builtin('FileExistsError', 'Error') },
  { label: 'connecting to a closed port', row: 'system:ECONNREFUSED', make: refusedConnection, stored: builtin('ConnectionRefusedError', 'Error') },
  { label: 'another system error (EMFILE)', make: () => systemError('EMFILE'), stored: builtin('OSError', 'Error') },
  { label: "an application's own code, not a system error", make: () => Object.assign(new Error('x'), { code: 'EAPP_LIMIT' }), stored: builtin('Exception', 'Error') },
  { label: 'class PaymentDeclined extends Error', make: () => new PaymentDeclined('card refused'), stored: { exc_type: 'PaymentDeclined', exc_module: null, exc_js_type: 'PaymentDeclined' } },
  { label: 'class CardDeclined extends RangeError', make: () => new CardDeclined('limit'), stored: builtin('ValueError', 'CardDeclined') },
  { label: "an error named 'ValidationError'", make: () => new ValidationFailed('bad'), stored: { exc_type: 'ValidationError', exc_module: null, exc_js_type: 'ValidationError' } },
  { label: 'a RangeError from another realm', make: () => runInNewContext("new RangeError('elsewhere')"), stored: builtin('ValueError', 'RangeError') },
  { label: 'a thrown string', make: () => 'just text', stored: { exc_type: 'Exception', exc_module: 'builtins', exc_message: ['just text'] } },
];

async function timeoutReason(): Promise<unknown> {
  const signal = AbortSignal.timeout(1);
  await new Promise((resolve) => signal.addEventListener('abort', resolve, { once: true }));
  return signal.reason;
}

/** System codes not provoked above: simulated, one per row. */
const simulatedSystemErrors: ExceptionCase[] = Object.entries(SYSTEM_ERROR_CLASSES)
  .filter(([code]) => !realErrors.some((item) => item.row === `system:${code}`))
  .map(([code, python]) => ({ label: `a system error ${code}`, row: `system:${code}` as const, make: () => systemError(code), stored: builtin(python.type, 'Error') }));

/** `class KeyError extends Error {}` and the like, for every Python built-in name we honour. */
const pythonNamedErrors: ExceptionCase[] = [...PYTHON_BUILTIN_EXCEPTIONS]
  .filter((name) => !(name in JAVASCRIPT_ERROR_CLASSES))
  .map((name) => ({ label: `class ${name} extends Error`, row: `builtin-name:${name}` as const, make: () => new (errorClassNamed(name))('named'), stored: builtin(name, name) }));

/** Errors that name their Python class themselves: stored as Python stores them, no exc_js_type. */
const namedErrors: ExceptionCase[] = [
  { label: 'NotRegisteredError', make: () => new NotRegisteredError('it.nope'), stored: { exc_type: 'NotRegistered', exc_module: 'celery.exceptions', exc_message: ['it.nope'] } },
  { label: 'TaskRevokedError', make: () => new TaskRevokedError('terminated'), stored: { exc_type: 'TaskRevokedError', exc_module: 'celery.exceptions', exc_message: ['terminated'] } },
  { label: 'MaxRetriesExceededError', make: () => new MaxRetriesExceededError('t[1]', undefined), stored: { exc_type: 'MaxRetriesExceededError', exc_module: 'celery.exceptions', exc_message: ["Can't retry t[1]"] } },
  { label: 'TimeLimitExceeded', make: () => new TimeLimitExceeded(0.5), stored: { exc_type: 'TimeLimitExceeded', exc_module: 'billiard.exceptions', exc_message: [0.5] } },
  { label: 'SoftTimeLimitExceeded', make: () => new SoftTimeLimitExceeded(2), stored: { exc_type: 'SoftTimeLimitExceeded', exc_module: 'billiard.exceptions', exc_message: [] } },
  { label: 'WorkerLostError', make: () => new WorkerLostError('w1@host'), stored: { exc_type: 'WorkerLostError', exc_module: 'billiard.exceptions' } },
  { label: 'TaskArgumentsError', make: () => new TaskArgumentsError('it.add', 'missing required argument \'y\''), stored: { exc_type: 'TypeError', exc_module: 'builtins', exc_message: ["it.add() missing required argument 'y'"] } },
  { label: 'InvalidTaskMessageError', make: () => new InvalidTaskMessageError('bad body'), stored: { exc_type: 'InvalidTaskError', exc_module: 'celery.exceptions' } },
  { label: 'ResultEncodeError', make: () => new ResultEncodeError('id', 'SUCCESS', 'a function'), stored: { exc_type: 'EncodeError', exc_module: 'kombu.exceptions' } },
  { label: 'MessageSecurityError', make: () => new MessageSecurityError('not signed'), stored: { exc_type: 'SecurityError', exc_module: 'celery.exceptions' } },
  { label: "PythonException('ValueError', …)", make: () => new PythonException('ValueError', 'bad', 3), stored: { exc_type: 'ValueError', exc_module: 'builtins', exc_message: ['bad', 3] } },
  {
    label: "PythonException('payments.PaymentDeclined', …)",
    make: () => new PythonException('payments.PaymentDeclined', 'card refused', 42),
    stored: { exc_type: 'PaymentDeclined', exc_module: 'payments', exc_message: ['card refused', 42] },
  },
  {
    label: 'PythonException of a nested class',
    make: () => new PythonException({ module: 'payments', type: 'Card.Expired' }, '2024-01'),
    stored: { exc_type: 'Card.Expired', exc_module: 'payments', exc_message: ['2024-01'] },
  },
];

/** Every case: each table row, the special ones, and our own errors. */
export const EXCEPTION_CASES: readonly ExceptionCase[] = [...realErrors, ...simulatedSystemErrors, ...pythonNamedErrors, ...namedErrors];
