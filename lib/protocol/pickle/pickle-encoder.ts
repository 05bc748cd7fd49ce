import { UnpicklableValueError } from '../../errors/unpicklable-value.error';
import { GrowableBuffer } from './growable-buffer';
import { PickleOpcode as Op, WRITTEN_PICKLE_PROTOCOL } from './pickle-opcodes';
import { MAX_NESTING_DEPTH, MAX_PICKLE_BYTES } from './pickle-limits';
import { datetimeStateFromDate } from './python-datetime';
import { PickledAsyncResult, PickledGroupResult, PythonTuple } from './python-objects';

/**
 * Encodes a value as a protocol-3 Python pickle that Celery 5.2.6 reads from its database
 * backend (`celery_taskmeta.result`, `celery_tasksetmeta.result`), using only the opcodes
 * verified against it (celery-protocol.md §4.3 "Writing"). Python equivalent:
 * `pickle.dumps(value, protocol=3)`.
 *
 * Mapping: null → None, boolean → bool, safe-integer number or bigint → int, other numbers
 * (fractions, -0, NaN, ±Infinity, integers beyond 2^53) → float, string → str, Buffer /
 * Uint8Array → bytes, array → list, PythonTuple → tuple, plain object → dict (own enumerable
 * string keys), Date → naive UTC datetime.datetime, PickledGroupResult / PickledAsyncResult →
 * celery.result.GroupResult / AsyncResult (without a backend: Python uses its app's).
 *
 * @throws UnpicklableValueError naming the path (`result.items[3]`) of the first value that has
 *   no Python equivalent (undefined, functions, symbols, other class instances) or that nests
 *   more than MAX_NESTING_DEPTH levels (a value that contains itself does), or when the pickle
 *   would exceed MAX_PICKLE_BYTES, which decodePickle refuses.
 */
export function encodePickle(value: unknown): Buffer {
  const out = takeSpareBuffer();
  try {
    out.byte(Op.PROTO);
    out.byte(WRITTEN_PICKLE_PROTOCOL);
    writeValue(out, value, 0);
    out.byte(Op.STOP);
    if (out.size > MAX_PICKLE_BYTES) {
      // The decoder refuses such rows, so writing one would store a result nobody here can read.
      const problem = `it is larger than the ${MAX_PICKLE_BYTES}-byte limit for stored results`;
      throw new ValueProblem(`a value of ${out.size} pickled bytes`, problem);
    }
    return out.toBuffer();
  } catch (error) {
    throw error instanceof ValueProblem ? error.toError() : error;
  } finally {
    returnSpareBuffer(out);
  }
}

/** Python's `pickle` writes APPENDS and SETITEMS in batches of this many items (`_BATCHSIZE`). */
const BATCH_SIZE = 1000;

const INT32_MIN = -(2 ** 31);
const INT32_MAX = 2 ** 31 - 1;
/** LONG1 holds up to 255 bytes; longer integers use LONG4, as Python does. */
const LONG1_MAX_BYTES = 255;

const DATETIME_GLOBAL = Buffer.from('datetime\ndatetime\n', 'latin1');
const GROUP_RESULT_GLOBAL = Buffer.from('celery.result\nGroupResult\n', 'latin1');
const ASYNC_RESULT_GLOBAL = Buffer.from('celery.result\nAsyncResult\n', 'latin1');

// One buffer is kept between calls so the hot path does not allocate and grow a new one per
// result. Taking it (and leaving null behind) keeps a re-entrant call, e.g. from a getter, safe.
const SPARE_BUFFER_INITIAL_BYTES = 4096;
const SPARE_BUFFER_MAX_KEPT_BYTES = 1024 * 1024;
let spareBuffer: GrowableBuffer | null = new GrowableBuffer(SPARE_BUFFER_INITIAL_BYTES);

function takeSpareBuffer(): GrowableBuffer {
  const buffer = spareBuffer ?? new GrowableBuffer(SPARE_BUFFER_INITIAL_BYTES);
  spareBuffer = null;
  buffer.reset();
  return buffer;
}

function returnSpareBuffer(buffer: GrowableBuffer): void {
  if (buffer.capacity <= SPARE_BUFFER_MAX_KEPT_BYTES) spareBuffer = buffer;
}

/**
 * Thrown inside the encoder and turned into UnpicklableValueError at the top. Each container
 * adds its step to the path while the error passes through, so the happy path builds no strings.
 */
class ValueProblem extends Error {
  private readonly reversedPath: string[] = [];

  constructor(
    readonly found: string,
    readonly problem?: string,
  ) {
    super(found);
  }

  within(step: string | number): ValueProblem {
    if (typeof step === 'number') this.reversedPath.push(`[${step}]`);
    else this.reversedPath.push(IDENTIFIER.test(step) ? `.${step}` : `[${JSON.stringify(step)}]`);
    return this;
  }

  toError(): UnpicklableValueError {
    return new UnpicklableValueError(`result${[...this.reversedPath].reverse().join('')}`, this.found, this.problem);
  }
}

const IDENTIFIER = /^[A-Za-z_$][\w$]*$/;

function within(error: unknown, step: string | number): unknown {
  return error instanceof ValueProblem ? error.within(step) : error;
}

function writeValue(out: GrowableBuffer, value: unknown, depth: number): void {
  switch (typeof value) {
    case 'string':
      return writeText(out, value);
    case 'number':
      return Number.isSafeInteger(value) && !Object.is(value, -0) ? writeInteger(out, value) : writeFloat(out, value);
    case 'bigint':
      return value >= INT32_MIN && value <= INT32_MAX ? writeInteger(out, Number(value)) : writeLong(out, value);
    case 'boolean':
      return out.byte(value ? Op.NEWTRUE : Op.NEWFALSE);
    case 'object':
      return value === null ? out.byte(Op.NONE) : writeObject(out, value, depth);
    case 'undefined':
      throw new ValueProblem('undefined', 'undefined has no Python equivalent (use null for None)');
    default:
      throw new ValueProblem(`a ${typeof value}`);
  }
}

function writeText(out: GrowableBuffer, text: string): void {
  out.byte(Op.BINUNICODE);
  out.uint32LengthPrefixedUtf8(text);
}

function writeInteger(out: GrowableBuffer, value: number): void {
  if (value >= INT32_MIN && value <= INT32_MAX) {
    out.byte(Op.BININT);
    return out.int32LE(value);
  }
  writeLong(out, BigInt(value));
}

/**
 * LONG1/LONG4 with Python's `encode_long` bytes: the shortest little-endian two's complement
 * (`(bit_length >> 3) + 1` bytes, minus a redundant 0xff for some negatives).
 */
function writeLong(out: GrowableBuffer, value: bigint): void {
  const magnitude = value < 0n ? -value : value;
  let byteCount = (magnitude.toString(2).length >> 3) + 1;
  let hex = BigInt.asUintN(byteCount * 8, value).toString(16).padStart(byteCount * 2, '0');
  if (value < 0n && byteCount > 1 && hex.startsWith('ff') && parseInt(hex[2], 16) >= 8) {
    hex = hex.slice(2);
    byteCount--;
  }
  const littleEndian = Buffer.from(hex, 'hex').reverse();
  if (byteCount <= LONG1_MAX_BYTES) {
    out.byte(Op.LONG1);
    out.byte(byteCount);
  } else {
    out.byte(Op.LONG4);
    out.int32LE(byteCount);
  }
  out.bytes(littleEndian);
}

function writeFloat(out: GrowableBuffer, value: number): void {
  out.byte(Op.BINFLOAT);
  out.float64BE(value);
}

function writeObject(out: GrowableBuffer, value: object, depth: number): void {
  if (Array.isArray(value)) return writeList(out, value, depth + 1);
  if (value instanceof Uint8Array) return writeBytes(out, value);
  if (value instanceof Date) return writeDatetime(out, value);
  if (value instanceof PythonTuple) return writeTupleOf(out, value, depth + 1);
  if (value instanceof PickledAsyncResult) return writeAsyncResult(out, value, depth + 1);
  if (value instanceof PickledGroupResult) return writeGroupResult(out, value, depth + 1);
  const prototype = Object.getPrototypeOf(value);
  if (prototype === Object.prototype || prototype === null) return writeDict(out, value as Record<string, unknown>, depth + 1);
  const className = (prototype as { constructor?: { name?: string } }).constructor?.name;
  throw new ValueProblem(className ? `a ${className} instance` : 'an object with a custom prototype');
}

function checkDepth(depth: number): void {
  if (depth > MAX_NESTING_DEPTH) {
    throw new ValueProblem('a container', `it is nested more than ${MAX_NESTING_DEPTH} levels deep (or contains itself)`);
  }
}

function writeBytes(out: GrowableBuffer, value: Uint8Array): void {
  out.byte(Op.BINBYTES);
  out.uint32LE(value.length);
  out.bytes(value);
}

/** `datetime.datetime(state)` through REDUCE, as Python's `datetime.__reduce__` describes itself. */
function writeDatetime(out: GrowableBuffer, value: Date): void {
  const state = datetimeStateFromDate(value);
  if (!state) {
    const problem = Number.isNaN(value.getTime()) ? 'it is an invalid Date' : 'Python datetime only holds years 1 to 9999';
    throw new ValueProblem('a Date', problem);
  }
  out.byte(Op.GLOBAL);
  out.bytes(DATETIME_GLOBAL);
  writeBytes(out, state);
  out.byte(Op.TUPLE1);
  out.byte(Op.REDUCE);
}

/** EMPTY_LIST, then MARK items APPENDS per batch. */
function writeList(out: GrowableBuffer, items: readonly unknown[], depth: number): void {
  checkDepth(depth);
  out.byte(Op.EMPTY_LIST);
  let index = 0;
  try {
    while (index < items.length) {
      const batchEnd = Math.min(index + BATCH_SIZE, items.length);
      out.byte(Op.MARK);
      for (; index < batchEnd; index++) writeValue(out, items[index], depth);
      out.byte(Op.APPENDS);
    }
  } catch (error) {
    throw within(error, index);
  }
}

/** EMPTY_DICT, then MARK key value … SETITEMS per batch. */
function writeDict(out: GrowableBuffer, dict: Record<string, unknown>, depth: number): void {
  checkDepth(depth);
  out.byte(Op.EMPTY_DICT);
  const keys = Object.keys(dict);
  let index = 0;
  try {
    while (index < keys.length) {
      const batchEnd = Math.min(index + BATCH_SIZE, keys.length);
      out.byte(Op.MARK);
      for (; index < batchEnd; index++) {
        writeText(out, keys[index]);
        writeValue(out, dict[keys[index]], depth);
      }
      out.byte(Op.SETITEMS);
    }
  } catch (error) {
    throw within(error, keys[index]);
  }
}

const TUPLE_OPCODES_BY_SIZE = [Op.EMPTY_TUPLE, Op.TUPLE1, Op.TUPLE2, Op.TUPLE3];

function writeTupleOf(out: GrowableBuffer, tuple: PythonTuple, depth: number): void {
  if (!Array.isArray(tuple.items)) throw new ValueProblem('a PythonTuple', 'its items are not an array');
  try {
    writeTuple(out, tuple.items, depth);
  } catch (error) {
    throw within(error, 'items');
  }
}

/** EMPTY_TUPLE / items TUPLE1-3 / MARK items TUPLE, like Python's `save_tuple`. */
function writeTuple(out: GrowableBuffer, items: readonly unknown[], depth: number): void {
  checkDepth(depth);
  const smallTupleOpcode = TUPLE_OPCODES_BY_SIZE[items.length];
  if (smallTupleOpcode === undefined) out.byte(Op.MARK);
  let index = 0;
  try {
    for (; index < items.length; index++) writeValue(out, items[index], depth);
  } catch (error) {
    throw within(error, index);
  }
  out.byte(smallTupleOpcode ?? Op.TUPLE);
}

/**
 * `celery.result.AsyncResult(id)`, or `(id, None, None, None, parent)` when there is a parent
 * (the constructor's `backend, task_name, app, parent` positions). No backend is written, so no
 * URL or password ever leaves this process; Python uses its app's backend.
 */
function writeAsyncResult(out: GrowableBuffer, result: PickledAsyncResult, depth: number): void {
  checkDepth(depth);
  if (typeof result.id !== 'string') throw new ValueProblem('a PickledAsyncResult', 'its id is not a string').within('id');
  const parent = result.parent ?? null;
  if (parent !== null && !(parent instanceof PickledAsyncResult)) {
    throw new ValueProblem('a PickledAsyncResult', 'its parent is not a PickledAsyncResult or null').within('parent');
  }
  out.byte(Op.GLOBAL);
  out.bytes(ASYNC_RESULT_GLOBAL);
  if (parent === null) {
    writeText(out, result.id);
    out.byte(Op.TUPLE1);
  } else {
    out.byte(Op.MARK);
    writeText(out, result.id);
    out.byte(Op.NONE);
    out.byte(Op.NONE);
    out.byte(Op.NONE);
    try {
      writeAsyncResult(out, parent, depth + 1);
    } catch (error) {
      throw within(error, 'parent');
    }
    out.byte(Op.TUPLE);
  }
  out.byte(Op.REDUCE);
}

/** `celery.result.GroupResult(id, [AsyncResult(child_id), …])`, as GroupResult.restore() in Python reads it. */
function writeGroupResult(out: GrowableBuffer, group: PickledGroupResult, depth: number): void {
  checkDepth(depth);
  if (typeof group.id !== 'string') throw new ValueProblem('a PickledGroupResult', 'its id is not a string').within('id');
  if (!Array.isArray(group.results)) {
    throw new ValueProblem('a PickledGroupResult', 'its results are not an array').within('results');
  }
  out.byte(Op.GLOBAL);
  out.bytes(GROUP_RESULT_GLOBAL);
  writeText(out, group.id);
  out.byte(Op.EMPTY_LIST);
  let index = 0;
  try {
    while (index < group.results.length) {
      const batchEnd = Math.min(index + BATCH_SIZE, group.results.length);
      out.byte(Op.MARK);
      for (; index < batchEnd; index++) {
        const child = group.results[index];
        if (!(child instanceof PickledAsyncResult)) {
          throw new ValueProblem(describe(child), 'a group holds PickledAsyncResult only');
        }
        writeAsyncResult(out, child, depth + 1);
      }
      out.byte(Op.APPENDS);
    }
  } catch (error) {
    throw within(within(error, index), 'results');
  }
  out.byte(Op.TUPLE2);
  out.byte(Op.REDUCE);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (typeof value !== 'object') return typeof value === 'undefined' ? 'undefined' : `a ${typeof value}`;
  return `a ${(value as object).constructor?.name ?? 'object'}`;
}
