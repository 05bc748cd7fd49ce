import { dateFromDatetimeState, secondsFromTimedelta } from './python-datetime';

/**
 * A Python tuple for the pickle encoder. Decoded pickles give tuples as plain arrays, but some
 * Python readers care: Celery's FAILURE meta has `exc_message` as a tuple, for instance.
 * Python equivalent: `tuple(items)`.
 */
export class PythonTuple {
  constructor(readonly items: unknown[]) {}
}

/** Marks an array to be pickled as a Python tuple: `pythonTuple(['boom'])` is `('boom',)`. */
export function pythonTuple(items: unknown[]): PythonTuple {
  return new PythonTuple(items);
}

/**
 * A `celery.result.AsyncResult` as stored inside a pickle: only the task id and the parent
 * link survive. Celery also pickles the result backend (with its database URL); that part is
 * never decoded and never written, so Python falls back to its app's configured backend.
 */
export class PickledAsyncResult {
  constructor(
    readonly id: string,
    readonly parent: PickledAsyncResult | null = null,
  ) {}
}

/**
 * A `celery.result.GroupResult` as Celery's database backend stores it in
 * `celery_tasksetmeta.result` (`GroupResult.save()`), restored in Python by
 * `GroupResult.restore(group_id)`: the group id and one AsyncResult per task of the group.
 */
export class PickledGroupResult {
  constructor(
    readonly id: string,
    readonly results: PickledAsyncResult[],
  ) {}
}

/**
 * Values that exist only while a pickle is being decoded: references to allow-listed Python
 * classes and functions, a timezone waiting to be applied to a datetime, and the placeholder
 * for a discarded result backend. The decoder refuses to let them into the decoded value.
 */
export abstract class DecodingOnlyValue {}

/** Throws UnsupportedPickleError for the opcode being decoded; `namesUnknownPythonObject` picks the advice. */
export type RejectPickle = (problem: string, namesUnknownPythonObject?: boolean) => never;

/** What calling an allow-listed Python callable produces, computed without running anything. */
export type InertCall = (args: readonly unknown[], reject: RejectPickle) => unknown;

/** An allow-listed Python class or function named by GLOBAL or STACK_GLOBAL. */
export class PythonCallable extends DecodingOnlyValue {
  constructor(
    /** `module.name`, for error messages. */
    readonly qualifiedName: string,
    readonly call: InertCall,
    /** NEWOBJ (`cls.__new__(cls, *args)`) builds the same value as calling the class. */
    readonly constructibleByNewobj: boolean,
  ) {
    super();
  }
}

/** A Celery result backend class (e.g. `celery.backends.database.DatabaseBackend`), only ever passed to `unpickle_backend`. */
export class BackendClassReference extends DecodingOnlyValue {
  constructor(readonly qualifiedName: string) {
    super();
  }
}

/**
 * What `celery.backends.base.unpickle_backend(cls, args, kwargs)` decodes to. Its arguments
 * include the database URL with its password; they are dropped here, so nothing from them can
 * reach a decoded value, a log line or an error message.
 */
export class DiscardedBackend extends DecodingOnlyValue {}

const DISCARDED_BACKEND = new DiscardedBackend();

/** A `datetime.timezone`, kept only to turn an aware datetime into UTC. */
export class PythonTimezone extends DecodingOnlyValue {
  constructor(readonly offsetSeconds: number) {
    super();
  }
}

function isNone(value: unknown): boolean {
  return value === null || value === undefined;
}

function callDatetime(args: readonly unknown[], reject: RejectPickle): Date {
  const [state, timezone] = args;
  if (args.length < 1 || args.length > 2 || !Buffer.isBuffer(state)) {
    reject('datetime.datetime expects its pickled state (10 bytes and an optional timezone)');
  }
  if (!isNone(timezone) && !(timezone instanceof PythonTimezone)) {
    reject('datetime.datetime has a tzinfo that is not a datetime.timezone');
  }
  const local = dateFromDatetimeState(state as Buffer);
  if (!local) reject('the datetime.datetime state is not a valid date');
  const offsetSeconds = timezone instanceof PythonTimezone ? timezone.offsetSeconds : 0; // naive: Celery stores UTC
  return new Date(local!.getTime() - offsetSeconds * 1000);
}

function callTimedelta(args: readonly unknown[], reject: RejectPickle): number {
  if (args.length > 3 || !args.every((part) => Number.isInteger(part))) {
    reject('datetime.timedelta expects (days, seconds, microseconds) as integers');
  }
  const [days = 0, seconds = 0, microseconds = 0] = args as number[];
  return secondsFromTimedelta(days, seconds, microseconds);
}

function callTimezone(args: readonly unknown[], reject: RejectPickle): PythonTimezone {
  const [offsetSeconds, name] = args;
  const validName = args.length < 2 || typeof name === 'string';
  if (args.length < 1 || args.length > 2 || typeof offsetSeconds !== 'number' || !validName) {
    reject('datetime.timezone expects (offset, optional name)');
  }
  return new PythonTimezone(offsetSeconds as number);
}

/** `AsyncResult(id, backend=None, task_name=None, app=None, parent=None)` as `__reduce_args__` writes it. */
function callAsyncResult(args: readonly unknown[], reject: RejectPickle): PickledAsyncResult {
  const problem = asyncResultArgumentsProblem(args);
  if (problem) reject(`celery.result.AsyncResult ${problem}`);
  const [id, , , , parent] = args;
  return new PickledAsyncResult(id as string, (parent as PickledAsyncResult | undefined) ?? null);
}

function asyncResultArgumentsProblem(args: readonly unknown[]): string | null {
  const [id, backend, taskName, app, parent] = args;
  if (args.length < 1 || args.length > 5 || typeof id !== 'string') return 'expects a task id string first';
  if (!isNone(backend) && !(backend instanceof DiscardedBackend)) return 'has a backend that is not a pickled Celery backend';
  if (!isNone(taskName) && typeof taskName !== 'string') return 'has a task_name that is not a string';
  if (!isNone(app)) return 'carries a pickled app, which is not supported';
  if (parent instanceof PickledGroupResult) return 'has a GroupResult parent, which is not supported';
  if (!isNone(parent) && !(parent instanceof PickledAsyncResult)) return 'has a parent that is not an AsyncResult';
  return null;
}

/** `GroupResult(id, results)` as `__reduce_args__` writes it. */
function callGroupResult(args: readonly unknown[], reject: RejectPickle): PickledGroupResult {
  const [id, results] = args;
  if (args.length !== 2 || typeof id !== 'string' || !Array.isArray(results)) {
    reject('celery.result.GroupResult expects (group id string, list of AsyncResult)');
  }
  const children = results as unknown[];
  if (!children.every((child) => child instanceof PickledAsyncResult)) {
    reject('celery.result.GroupResult holds something other than AsyncResult (nested groups are not supported)');
  }
  // A copy, so later opcodes that append to the memoized list cannot change the group.
  return new PickledGroupResult(id as string, [...(children as PickledAsyncResult[])]);
}

/** Results of app-bound classes pickle as `_unpickle_appattr('GroupResult', args)` (celery/app/base.py). */
const APP_ATTRIBUTE_CALLS: ReadonlyMap<string, InertCall> = new Map<string, InertCall>([
  ['AsyncResult', callAsyncResult],
  ['GroupResult', callGroupResult],
]);

function callAppAttribute(args: readonly unknown[], reject: RejectPickle): unknown {
  const [attributeName, attributeArgs] = args;
  if (args.length !== 2 || typeof attributeName !== 'string' || !Array.isArray(attributeArgs)) {
    reject('celery.app.base._unpickle_appattr expects (attribute name, arguments)');
  }
  const call = APP_ATTRIBUTE_CALLS.get(attributeName as string);
  if (!call) reject(`it calls app.${String(attributeName)} through celery.app.base._unpickle_appattr`, true);
  return call!(attributeArgs as unknown[], reject);
}

function callUnpickleBackend(args: readonly unknown[], reject: RejectPickle): DiscardedBackend {
  if (args.length !== 3 || !(args[0] instanceof BackendClassReference)) {
    reject('celery.backends.base.unpickle_backend expects (backend class, args, kwargs)');
  }
  return DISCARDED_BACKEND; // args and kwargs (the database URL) are deliberately not looked at
}

/**
 * The only Python globals a pickle may name, each mapped to an inert value (never imported or
 * called): `module name` → how a call is decoded and whether NEWOBJ may build it.
 */
const ALLOWED_GLOBALS: ReadonlyMap<string, { call: InertCall; constructibleByNewobj: boolean }> = new Map([
  ['datetime datetime', { call: callDatetime, constructibleByNewobj: true }],
  ['datetime timedelta', { call: callTimedelta, constructibleByNewobj: true }],
  ['datetime timezone', { call: callTimezone, constructibleByNewobj: true }],
  ['celery.result AsyncResult', { call: callAsyncResult, constructibleByNewobj: false }],
  ['celery.result GroupResult', { call: callGroupResult, constructibleByNewobj: false }],
  ['celery.app.base _unpickle_appattr', { call: callAppAttribute, constructibleByNewobj: false }],
  ['celery.backends.base unpickle_backend', { call: callUnpickleBackend, constructibleByNewobj: false }],
]);

/** Backend classes appear only as the first argument of unpickle_backend; matched by shape, as Celery has many. */
const BACKEND_MODULE = /^celery\.backends(\.[A-Za-z_][A-Za-z0-9_]*)*$/;
const BACKEND_CLASS = /^[A-Za-z_][A-Za-z0-9_]*Backend$/;

/** The inert stand-in for a Python global, or null when the global is not allow-listed. */
export function resolvePythonGlobal(module: string, name: string): DecodingOnlyValue | null {
  const qualifiedName = `${module}.${name}`;
  const allowed = ALLOWED_GLOBALS.get(`${module} ${name}`);
  if (allowed) return new PythonCallable(qualifiedName, allowed.call, allowed.constructibleByNewobj);
  if (BACKEND_MODULE.test(module) && BACKEND_CLASS.test(name)) return new BackendClassReference(qualifiedName);
  return null;
}

/** Values an allow-listed call produced, the only targets BUILD may touch (and only as a no-op). */
export function isProducedByAllowedCall(value: unknown): boolean {
  return (
    value instanceof Date ||
    value instanceof PickledAsyncResult ||
    value instanceof PickledGroupResult ||
    value instanceof DiscardedBackend
  );
}
