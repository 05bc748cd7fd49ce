import { UnsupportedPickleError } from '../../errors/unsupported-pickle.error';
import { checkDecodedShape } from './decoded-shape-check';
import { describeOpcode, HIGHEST_READ_PICKLE_PROTOCOL, PickleOpcode as Op, TEXT_PROTOCOL_OPCODES } from './pickle-opcodes';
import { MAX_EXPANDED_ITEMS, MAX_PICKLE_BYTES } from './pickle-limits';
import { pythonFloatRepr } from './python-float-repr';
import {
  BackendClassReference,
  DecodingOnlyValue,
  DiscardedBackend,
  isProducedByAllowedCall,
  PythonCallable,
  PythonTimezone,
  resolvePythonGlobal,
} from './python-objects';
import { decodeUtf8SurrogatePass } from './utf8-surrogatepass';

/**
 * Decodes a Python pickle (protocols 2–5, as Celery's database backend stores results) into
 * inert JavaScript data. Nothing a pickle names is imported, called or instantiated: a short
 * allow-list of globals (datetime, Celery's AsyncResult/GroupResult) is mapped to plain values
 * and anything else is refused. Python equivalent: `pickle.loads(data)`.
 *
 * Mapping: None → null, bool → boolean, int → number (bigint beyond 2^53), float → number,
 * str → string, bytes/bytearray → Buffer, list/tuple/set/frozenset → array, dict → plain object
 * with string keys (`str(key)` for int, float, bool and None keys), datetime → Date (UTC; naive
 * means UTC), timedelta → seconds, AsyncResult/GroupResult → PickledAsyncResult/PickledGroupResult.
 *
 * @throws UnsupportedPickleError for damaged data, unsupported opcodes, unknown globals or
 *   values beyond the safety limits; the message gives the byte offset and the opcode.
 */
export function decodePickle(data: Buffer): unknown {
  return new PickleDecoder(data).decode();
}

/**
 * A float whose value is integral (1.0, -0.0). JS numbers cannot tell it from the int 1, but a
 * dict key needs the difference (`str(1.0)` is `'1.0'`), so it stays boxed on the stack and in
 * the memo and is unboxed when it becomes part of a value.
 */
class IntegralFloat {
  constructor(readonly value: number) {}
}

/** Decoding state for one pickle: Python's unpickler stack machine, without its ability to call. */
class PickleDecoder {
  private position = 0;
  private opcodeOffset = 0;
  private opcode: number | undefined;
  private stack: unknown[] = [];
  /** Stacks saved by MARK, as in Python's unpickler. */
  private readonly metastack: unknown[][] = [];
  private readonly memo = new Map<number, unknown>();
  // JS arrays stand for lists, tuples and sets alike; these remember which arrays are not lists,
  // so opcodes cannot append to a tuple or call something with a list, exactly as Python refuses.
  // (Lists and dicts are the common containers, so they are the ones left untracked.)
  private readonly tuples = new Set<unknown[]>();
  private readonly sets = new Set<unknown[]>();
  private readonly frozensets = new Set<unknown[]>();
  /** Containers pushed again from the memo (or DUP): the only ones that can be shared or recursive. */
  private readonly reusedContainers = new Set<object>();
  /** Tuples that hold a DecodingOnlyValue (call arguments); they may not become data either. */
  private readonly tuplesHoldingDecodingOnlyValues = new Set<unknown[]>();

  constructor(private readonly data: Buffer) {}

  decode(): unknown {
    if (this.data.length > MAX_PICKLE_BYTES) {
      this.opcode = this.data[0];
      this.fail(`it is ${this.data.length} bytes long, more than the ${MAX_PICKLE_BYTES}-byte limit`);
    }
    for (;;) {
      this.opcodeOffset = this.position;
      this.opcode = this.data[this.position];
      if (this.opcode === undefined) this.fail('the data ends before the STOP opcode (truncated)');
      this.position++;
      if (this.opcode === Op.STOP) return this.finish();
      this.execute(this.opcode);
    }
  }

  private execute(opcode: number): void {
    switch (opcode) {
      case Op.PROTO:
        return this.readProtocol();
      case Op.FRAME: {
        // Frames only group bytes for buffered reading; their content is decoded as usual.
        this.readLength64();
        return;
      }
      case Op.NONE:
        return this.push(null);
      case Op.NEWTRUE:
        return this.push(true);
      case Op.NEWFALSE:
        return this.push(false);
      case Op.BININT:
        return this.push(this.data.readInt32LE(this.take(4)));
      case Op.BININT1:
        return this.push(this.data[this.take(1)]);
      case Op.BININT2:
        return this.push(this.data.readUInt16LE(this.take(2)));
      case Op.LONG1:
        return this.push(this.readLong(this.data[this.take(1)]));
      case Op.LONG4:
        return this.push(this.readLong(this.readSignedLength32()));
      case Op.BINFLOAT:
        return this.pushFloat(this.data.readDoubleBE(this.take(8)));
      case Op.SHORT_BINUNICODE:
        return this.push(this.readText(this.data[this.take(1)]));
      case Op.BINUNICODE:
        return this.push(this.readText(this.data.readUInt32LE(this.take(4))));
      case Op.BINUNICODE8:
        return this.push(this.readText(this.readLength64()));
      case Op.SHORT_BINBYTES:
        return this.push(this.readBytes(this.data[this.take(1)]));
      case Op.BINBYTES:
        return this.push(this.readBytes(this.data.readUInt32LE(this.take(4))));
      case Op.BINBYTES8:
      case Op.BYTEARRAY8:
        return this.push(this.readBytes(this.readLength64()));
      case Op.EMPTY_LIST:
        return this.push([]);
      case Op.EMPTY_DICT:
        return this.push({});
      case Op.EMPTY_SET:
        return this.push(this.newSet());
      case Op.EMPTY_TUPLE:
        return this.push(this.newTuple([]));
      case Op.TUPLE1:
        return this.push(this.newTuple(this.popItems(1)));
      case Op.TUPLE2:
        return this.push(this.newTuple(this.popItems(2)));
      case Op.TUPLE3:
        return this.push(this.newTuple(this.popItems(3)));
      case Op.TUPLE:
        return this.push(this.newTuple(this.popMark()));
      case Op.FROZENSET: {
        const frozenset = this.popMark().map((item) => this.asData(item));
        this.frozensets.add(frozenset);
        return this.push(frozenset);
      }
      case Op.MARK:
        this.metastack.push(this.stack);
        this.stack = [];
        return;
      case Op.POP:
        this.pop();
        return;
      case Op.POP_MARK:
        this.popMark();
        return;
      case Op.DUP:
        return this.push(this.reused(this.top()));
      case Op.APPEND:
        return this.appendTo(this.popItems(1));
      case Op.APPENDS:
        return this.appendTo(this.popMark());
      case Op.SETITEM:
        return this.setItemsOf(this.popItems(2));
      case Op.SETITEMS:
        return this.setItemsOf(this.popMark());
      case Op.ADDITEMS:
        return this.addItemsTo(this.popMark());
      case Op.MEMOIZE:
        this.memo.set(this.memo.size, this.top());
        return;
      case Op.BINPUT:
        this.memo.set(this.data[this.take(1)], this.top());
        return;
      case Op.LONG_BINPUT:
        this.memo.set(this.data.readUInt32LE(this.take(4)), this.top());
        return;
      case Op.BINGET:
        return this.push(this.reused(this.memoGet(this.data[this.take(1)])));
      case Op.LONG_BINGET:
        return this.push(this.reused(this.memoGet(this.data.readUInt32LE(this.take(4)))));
      case Op.GLOBAL: {
        const module = this.readLine();
        return this.push(this.resolveGlobal(module, this.readLine()));
      }
      case Op.STACK_GLOBAL: {
        const [module, name] = this.popItems(2);
        if (typeof module !== 'string' || typeof name !== 'string') this.fail('STACK_GLOBAL expects a module and a name string');
        return this.push(this.resolveGlobal(module as string, name as string));
      }
      case Op.REDUCE:
        return this.callGlobal(false);
      case Op.NEWOBJ:
        return this.callGlobal(true);
      case Op.BUILD:
        return this.build();
      default:
        if (TEXT_PROTOCOL_OPCODES.has(opcode)) {
          this.fail('it uses a text opcode of pickle protocol 0, which is not supported; use protocol 2 or higher');
        }
        this.fail('the opcode is unknown or not supported (only those for plain data and the allow-listed classes are)');
    }
  }

  private finish(): unknown {
    if (this.metastack.length > 0) this.fail('a MARK is still open at STOP');
    if (this.stack.length !== 1) this.fail(`STOP expects exactly one value on the stack, found ${this.stack.length}`);
    const result = this.asData(this.stack[0]);
    const maxItems = Math.max(MAX_EXPANDED_ITEMS, this.data.length);
    checkDecodedShape(result, maxItems, this.reusedContainers, (problem) => this.fail(problem));
    return result;
  }

  // Reading raw bytes.

  /** Advances past `count` bytes and returns where they start. */
  private take(count: number): number {
    const start = this.position;
    if (count > this.data.length - start) {
      this.fail(`the data ends after ${this.data.length} bytes, but ${count} more were expected at byte ${start} (truncated)`);
    }
    this.position = start + count;
    return start;
  }

  private readLength64(): number {
    const length = this.data.readBigUInt64LE(this.take(8));
    if (length > BigInt(this.data.length - this.position)) {
      this.fail(`it announces ${length} bytes but only ${this.data.length - this.position} follow (truncated)`);
    }
    return Number(length);
  }

  private readSignedLength32(): number {
    const length = this.data.readInt32LE(this.take(4));
    if (length < 0) this.fail('the length is negative');
    return length;
  }

  private readProtocol(): void {
    const protocol = this.data[this.take(1)];
    if (protocol > HIGHEST_READ_PICKLE_PROTOCOL) {
      this.fail(`it declares pickle protocol ${protocol}; protocols 2 to ${HIGHEST_READ_PICKLE_PROTOCOL} are supported`);
    }
  }

  /** Python's `decode_long`: little-endian two's complement; a number when it is a safe integer. */
  private readLong(length: number): number | bigint {
    const start = this.take(length);
    if (length === 0) return 0;
    const littleEndian = this.data.subarray(start, start + length);
    const hex = Buffer.from(littleEndian).reverse().toString('hex');
    let value = BigInt(`0x${hex}`);
    if (littleEndian[length - 1] & 0x80) value -= 1n << BigInt(length * 8);
    return value >= BigInt(Number.MIN_SAFE_INTEGER) && value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : value;
  }

  private readText(length: number): string {
    const start = this.take(length);
    const text = decodeUtf8SurrogatePass(this.data, start, start + length);
    if (text === null) this.fail('a str is not valid UTF-8');
    return text as string;
  }

  /** A copy, so the decoded value does not keep the whole input alive or share memory with it. */
  private readBytes(length: number): Buffer {
    const start = this.take(length);
    return Buffer.from(this.data.subarray(start, start + length));
  }

  /** One newline-terminated line of GLOBAL. */
  private readLine(): string {
    const end = this.data.indexOf(0x0a, this.position);
    if (end < 0) this.fail('the data ends inside the name of a GLOBAL (truncated)');
    const line = this.data.toString('utf8', this.position, end);
    this.position = end + 1;
    return line;
  }

  // The stack.

  private push(value: unknown): void {
    this.stack.push(value);
  }

  private pushFloat(value: number): void {
    this.push(Number.isInteger(value) ? new IntegralFloat(value) : value);
  }

  private top(): unknown {
    if (this.stack.length === 0) this.fail('the stack is empty (stack underflow)');
    return this.stack[this.stack.length - 1];
  }

  private pop(): unknown {
    if (this.stack.length === 0) this.fail('the stack is empty (stack underflow)');
    return this.stack.pop();
  }

  /** The top `count` values, in stack order. */
  private popItems(count: number): unknown[] {
    if (this.stack.length < count) {
      this.fail(`it needs ${count} values but the stack holds ${this.stack.length} (stack underflow)`);
    }
    return this.stack.splice(this.stack.length - count, count);
  }

  /** The values pushed since the last MARK, which is closed. */
  private popMark(): unknown[] {
    const saved = this.metastack.pop();
    if (!saved) this.fail('there is no MARK to close (stack underflow)');
    const items = this.stack;
    this.stack = saved as unknown[];
    return items;
  }

  /** Notes a container that now has a second reference, for the shape check at STOP. */
  private reused(value: unknown): unknown {
    if (typeof value === 'object' && value !== null) this.reusedContainers.add(value);
    return value;
  }

  private memoGet(index: number): unknown {
    if (!this.memo.has(index)) this.fail(`memo entry ${index} was never stored (memo miss)`);
    return this.memo.get(index);
  }

  // Containers.

  private isList(value: unknown): value is unknown[] {
    return Array.isArray(value) && !this.tuples.has(value) && !this.sets.has(value) && !this.frozensets.has(value);
  }

  private newSet(): unknown[] {
    const set: unknown[] = [];
    this.sets.add(set);
    return set;
  }

  private newTuple(items: unknown[]): unknown[] {
    let holdsDecodingOnlyValue = false;
    for (let index = 0; index < items.length; index++) {
      const item = items[index];
      if (item instanceof IntegralFloat) items[index] = item.value;
      else if (item instanceof DecodingOnlyValue || this.tuplesHoldingDecodingOnlyValues.has(item as unknown[])) {
        holdsDecodingOnlyValue = true;
      }
    }
    this.tuples.add(items);
    if (holdsDecodingOnlyValue) this.tuplesHoldingDecodingOnlyValues.add(items);
    return items;
  }

  /** A value about to become part of the result: unboxed, and never a stand-in that exists only while decoding. */
  private asData(value: unknown): unknown {
    if (typeof value !== 'object' || value === null) return value;
    if (value instanceof IntegralFloat) return value.value;
    if (value instanceof DecodingOnlyValue || this.tuplesHoldingDecodingOnlyValues.has(value as unknown[])) {
      this.fail(`${describeDecodingOnly(value)} can only be passed to an allow-listed call, not kept as data`, true);
    }
    return value;
  }

  private appendTo(items: unknown[]): void {
    const list = this.top();
    if (!this.isList(list)) this.fail('APPEND/APPENDS expects a list below its items');
    for (const item of items) (list as unknown[]).push(this.asData(item));
  }

  private addItemsTo(items: unknown[]): void {
    const set = this.top();
    if (!this.sets.has(set as unknown[])) this.fail('ADDITEMS expects a set below its items');
    for (const item of items) (set as unknown[]).push(this.asData(item));
  }

  private setItemsOf(keysAndValues: unknown[]): void {
    const dict = this.top();
    if (!isDict(dict)) this.fail('SETITEM/SETITEMS expects a dict below its items');
    if (keysAndValues.length % 2 !== 0) this.fail('SETITEMS has an odd number of items');
    for (let index = 0; index < keysAndValues.length; index += 2) {
      const key = this.dictKey(keysAndValues[index]);
      const value = this.asData(keysAndValues[index + 1]);
      if (key === '__proto__') {
        // An assignment would replace the object's prototype; a data property is what the dict holds.
        Object.defineProperty(dict, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        (dict as Record<string, unknown>)[key] = value;
      }
    }
  }

  /** `str(key)`: JS object keys are strings, so other hashable keys take Python's text form. */
  private dictKey(key: unknown): string {
    switch (typeof key) {
      case 'string':
        return key;
      case 'number':
        return Number.isInteger(key) ? String(key) : pythonFloatRepr(key); // integral floats are boxed
      case 'bigint':
        return key.toString();
      case 'boolean':
        return key ? 'True' : 'False';
      case 'object':
        if (key === null) return 'None';
        if (key instanceof IntegralFloat) return pythonFloatRepr(key.value);
    }
    return this.fail(`a dict key is ${describeKey(key)}; only str, int, float, bool and None keys can become object keys`);
  }

  // Globals.

  private resolveGlobal(module: string, name: string): DecodingOnlyValue {
    const resolved = resolvePythonGlobal(module, name);
    if (!resolved) this.fail(`it names the Python global ${module}.${name}, which is not allow-listed`, true);
    return resolved as DecodingOnlyValue;
  }

  /** REDUCE (`callable(*args)`) or NEWOBJ (`cls.__new__(cls, *args)`) of an allow-listed global, computed inertly. */
  private callGlobal(isNewobj: boolean): void {
    const [callable, args] = this.popItems(2);
    if (!(callable instanceof PythonCallable)) this.fail('it expects an allow-listed class or function below the arguments');
    const target = callable as PythonCallable;
    if (isNewobj && !target.constructibleByNewobj) this.fail(`${target.qualifiedName} cannot be built with NEWOBJ`);
    if (!this.tuples.has(args as unknown[])) this.fail(`the arguments of ${target.qualifiedName} are not a tuple`);
    this.push(target.call(args as unknown[], (problem, namesUnknown) => this.fail(problem, namesUnknown)));
  }

  /**
   * BUILD sets an object's state after it was created. None of the allow-listed classes needs it,
   * so it is accepted only where it changes nothing (and on the discarded backend, whose state is dropped).
   */
  private build(): void {
    const state = this.pop();
    const target = this.top();
    if (target instanceof DiscardedBackend) return;
    const emptyState = state === null || (isDict(state) && Object.keys(state).length === 0);
    if (!isProducedByAllowedCall(target) || !emptyState) {
      this.fail('BUILD would set the state of an object; only state-free allow-listed objects are supported');
    }
  }

  private fail(problem: string, namesUnknownPythonObject = false): never {
    throw new UnsupportedPickleError(this.opcodeOffset, describeOpcode(this.opcode), problem, namesUnknownPythonObject);
  }
}

/** Decoded dicts are the only plain objects on the stack; every other object is a class instance. */
function isDict(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && Object.getPrototypeOf(value) === Object.prototype;
}

function describeDecodingOnly(value: object): string {
  if (value instanceof PythonCallable || value instanceof BackendClassReference) return `the reference to ${value.qualifiedName}`;
  if (value instanceof DiscardedBackend) return 'a pickled Celery result backend';
  if (value instanceof PythonTimezone) return 'a datetime.timezone';
  return 'a tuple of call arguments';
}

function describeKey(key: unknown): string {
  if (Array.isArray(key)) return 'a tuple or other container';
  if (Buffer.isBuffer(key)) return 'bytes';
  if (key instanceof Date) return 'a datetime';
  return typeof key === 'object' ? `a ${(key as object).constructor?.name ?? 'Python object'}` : `a ${typeof key}`;
}
