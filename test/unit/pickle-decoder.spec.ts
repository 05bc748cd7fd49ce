import { readdirSync } from 'node:fs';
import { inspect } from 'node:util';
import {
  decodePickle,
  PickledAsyncResult,
  PickledGroupResult,
  UnsupportedPickleError,
} from '../../lib/protocol/pickle';
import { FIXTURES_DIR, loadFixture } from '../support/fixtures';

/** A pickle from bytes (numbers) and latin1 text (strings), for hand-made opcode sequences. */
function pickleOf(...parts: (number | string | Buffer)[]): Buffer {
  return Buffer.concat(
    parts.map((part) =>
      typeof part === 'number' ? Buffer.from([part]) : typeof part === 'string' ? Buffer.from(part, 'latin1') : part,
    ),
  );
}

/** SHORT_BINUNICODE of an ASCII string. */
function shortText(text: string): Buffer {
  return pickleOf(0x8c, text.length, text);
}

/** The decoder's error for `data`, failing the test when it decodes. */
function refusal(data: Buffer): UnsupportedPickleError {
  try {
    decodePickle(data);
  } catch (error) {
    expect(error).toBeInstanceOf(UnsupportedPickleError);
    return error as UnsupportedPickleError;
  }
  throw new Error(`expected ${data.toString('hex')} to be refused`);
}

/**
 * Parses the Python literals `repr()` prints in the fixtures (None, bools, ints, floats, str,
 * tuple, list, dict) into the values the decoder should give: tuples as arrays, big ints as bigint.
 */
function parsePythonLiteral(text: string): unknown {
  let position = 0;
  const skipSpaces = () => {
    while (text[position] === ' ') position++;
  };
  const expectChar = (char: string) => {
    if (text[position] !== char) throw new Error(`expected ${char} at ${position} in ${text}`);
    position++;
  };
  const parseString = (): string => {
    const quote = text[position++];
    let out = '';
    while (text[position] !== quote) {
      const char = text[position++];
      if (char !== '\\') {
        out += char;
        continue;
      }
      const escaped = text[position++];
      const simple: Record<string, string> = { n: '\n', t: '\t', r: '\r', '\\': '\\', "'": "'", '"': '"' };
      if (escaped in simple) out += simple[escaped];
      else {
        const digits = { x: 2, u: 4, U: 8 }[escaped as 'x' | 'u' | 'U'];
        out += String.fromCodePoint(parseInt(text.slice(position, position + digits), 16));
        position += digits;
      }
    }
    position++;
    return out;
  };
  const parseItems = (close: string): unknown[] => {
    const items: unknown[] = [];
    for (;;) {
      skipSpaces();
      if (text[position] === close) break;
      items.push(parseValue());
      skipSpaces();
      if (text[position] === ',') position++;
    }
    position++;
    return items;
  };
  const parseValue = (): unknown => {
    skipSpaces();
    const char = text[position];
    if (char === "'" || char === '"') return parseString();
    if (char === '[' || char === '(') {
      position++;
      return parseItems(char === '[' ? ']' : ')');
    }
    if (char === '{') {
      position++;
      const dict: Record<string, unknown> = {};
      for (;;) {
        skipSpaces();
        if (text[position] === '}') break;
        const key = String(parseValue());
        skipSpaces();
        expectChar(':');
        dict[key] = parseValue();
        skipSpaces();
        if (text[position] === ',') position++;
      }
      position++;
      return dict;
    }
    const token = /^(None|True|False|-?\d+(\.\d+)?(e[+-]?\d+)?)/.exec(text.slice(position))![0];
    position += token.length;
    if (token === 'None') return null;
    if (token === 'True' || token === 'False') return token === 'True';
    if (/[.e]/.test(token)) return Number(token);
    const integer = BigInt(token);
    return Number.isSafeInteger(Number(integer)) ? Number(integer) : integer;
  };
  const value = parseValue();
  if (position !== text.length) throw new Error(`unparsed text after ${position} in ${text}`);
  return value;
}

interface PickledColumn {
  path: string;
  hex: string;
  repr: string;
}

/** Every pickled `result` column in a row fixture, wherever it sits in the file. */
function pickledColumns(node: unknown, path: string): PickledColumn[] {
  if (typeof node !== 'object' || node === null) return [];
  const record = node as Record<string, unknown>;
  if (typeof record.hex === 'string' && typeof record.pickle_protocol === 'number') {
    return [{ path, hex: record.hex, repr: record.python_repr_after_unpickle as string }];
  }
  return Object.entries(record).flatMap(([key, child]) => pickledColumns(child, `${path}.${key}`));
}

const ROW_FIXTURES = readdirSync(FIXTURES_DIR)
  .filter((file) => /^(db|dbext)_row_.*\.json$/.test(file))
  .map((file) => file.replace(/\.json$/, ''));

const ROW_COLUMNS = ROW_FIXTURES.flatMap((name) => pickledColumns(loadFixture(name), name));

describe('decodePickle on rows Celery 5.2.6 wrote', () => {
  it('finds the captured result columns', () => {
    expect(ROW_FIXTURES.length).toBeGreaterThanOrEqual(10);
    expect(ROW_COLUMNS.length).toBeGreaterThanOrEqual(16);
  });

  it.each(ROW_COLUMNS.map((column) => [column.path, column] as const))('%s decodes to the unpickled repr', (_, column) => {
    expect(decodePickle(Buffer.from(column.hex, 'hex'))).toEqual(parsePythonLiteral(column.repr));
  });

  it('reads the FAILURE meta with exc_message as an array', () => {
    const { row } = loadFixture('db_row_failure');
    expect(decodePickle(Buffer.from(row.result.hex, 'hex'))).toEqual({
      exc_type: 'ValueError',
      exc_message: ['boom'],
      exc_module: 'builtins',
    });
  });

  it.each(['db_taskset_row', 'dbext_taskset_row'])('%s decodes to a PickledGroupResult without the backend', (name) => {
    const fixture = loadFixture(name);
    const decoded = decodePickle(Buffer.from(fixture.row.result.hex, 'hex'));
    expect(decoded).toStrictEqual(
      new PickledGroupResult(fixture.group_id, fixture.child_ids.map((id: string) => new PickledAsyncResult(id))),
    );
    expect(fixture.row.result.python_repr_after_unpickle).toBe(
      `<GroupResult: ${fixture.group_id} [${fixture.child_ids.join(', ')}]>`,
    );
    // The pickle carries the DatabaseBackend with its URL; none of it may surface.
    expect(Buffer.from(fixture.row.result.hex, 'hex').toString('latin1')).toContain('postgresql://');
    expect(inspect(decoded, { depth: null })).not.toContain('postgresql');
    expect(JSON.stringify(decoded)).not.toContain('postgresql');
  });

  describe('hand-made pickles the 5.2.6 client accepted (compat_client_reads)', () => {
    const { cases } = loadFixture('compat_client_reads');

    it('reads the protocol-3 SUCCESS dict, with 2**70 as a bigint', () => {
      const fixture = cases['db.success_mini_pickle_proto3'];
      const decoded = decodePickle(Buffer.from(fixture.result_hex, 'hex')) as Record<string, unknown>;
      expect(decoded).toEqual({ ...fixture.client_get.value, big: 2n ** 70n });
      expect(Number(decoded.big)).toBe(fixture.client_get.value.big);
    });

    it('reads the protocol-3 FAILURE dict', () => {
      const fixture = cases['db.failure_mini_pickle_proto3'];
      expect(decodePickle(Buffer.from(fixture.result_hex, 'hex'))).toEqual({
        exc_type: fixture.client_get.raised_type.split('.').pop(),
        exc_message: fixture.client_get.raised_args,
        exc_module: 'builtins',
      });
    });

    it('reads the GLOBAL celery.result GroupResult form', () => {
      const fixture = cases['db.taskset_mini_pickle'];
      const [, groupId, childIds] = /^<GroupResult: (\S+) \[(.*)\]>$/.exec(fixture.restored)!;
      expect(decodePickle(Buffer.from(fixture.result_hex, 'hex'))).toStrictEqual(
        new PickledGroupResult(groupId, childIds.split(', ').map((id) => new PickledAsyncResult(id))),
      );
    });
  });
});

describe('decodePickle safety', () => {
  const osSystemGlobal = pickleOf(0x80, 2, 'c', 'os\nsystem\n', 'X', Buffer.from([10, 0, 0, 0]), 'echo pwned', 0x85, 'R', '.');
  const osSystemStackGlobal = pickleOf(0x80, 4, shortText('os'), shortText('system'), 0x93, shortText('echo pwned'), 0x85, 'R', '.');

  it.each([
    ['GLOBAL', osSystemGlobal, 2],
    ['STACK_GLOBAL', osSystemStackGlobal, 14],
  ])('refuses os.system named by %s before anything is called', (opcode, data, offset) => {
    const error = refusal(data as Buffer);
    expect(error.message).toContain('os.system');
    expect(error.message).toContain(`at byte ${offset} (opcode ${opcode}`);
    expect(error.message).toContain('Only inert data');
    expect(error.namesUnknownPythonObject).toBe(true);
  });

  it('refuses builtins too: sets and bytearrays pickled with protocol 3 call builtins.set / builtins.bytearray', () => {
    const protocol3Set = pickleOf(0x80, 3, 'c', 'builtins\nset\n', ']', 'K', 1, 'a', 0x85, 'R', '.');
    expect(refusal(protocol3Set).message).toContain('builtins.set, which is not allow-listed');
  });

  it('builds allow-listed datetime values with NEWOBJ but refuses BUILD that would set state', () => {
    const timedelta = pickleOf(0x80, 4, 'c', 'datetime\ntimedelta\n', 'K', 1, 'K', 30, 'K', 0, 0x87, 0x81, '.');
    expect(decodePickle(timedelta)).toBe(86_430);
    const asyncByNewobj = pickleOf(0x80, 4, 'c', 'celery.result\nAsyncResult\n', shortText('id'), 0x85, 0x81, '.');
    expect(refusal(asyncByNewobj).message).toContain('cannot be built with NEWOBJ');
    const asyncResult = pickleOf('c', 'celery.result\nAsyncResult\n', shortText('id'), 0x85, 'R');
    expect(decodePickle(pickleOf(0x80, 4, asyncResult, 'N', 'b', '.'))).toStrictEqual(new PickledAsyncResult('id'));
    const withState = pickleOf(0x80, 4, asyncResult, '}', shortText('id'), shortText('other'), 's', 'b', '.');
    expect(refusal(withState).message).toMatch(/BUILD \(0x62\).*would set the state/);
  });

  it('refuses other app attributes reached through _unpickle_appattr', () => {
    const data = pickleOf(
      0x80, 4, 'c', 'celery.app.base\n_unpickle_appattr\n',
      shortText('send_task'), shortText('x'), 0x85, 0x86, 'R', '.',
    );
    expect(refusal(data).message).toContain('app.send_task');
  });

  it('never lets a reference to an allow-listed callable become data', () => {
    expect(refusal(pickleOf(0x80, 4, 'c', 'celery.result\nAsyncResult\n', '.')).message).toContain(
      'celery.result.AsyncResult can only be passed to an allow-listed call',
    );
    expect(refusal(pickleOf(0x80, 4, ']', 'c', 'datetime\ndatetime\n', 0x85, 'a', '.')).message).toContain('not kept as data');
  });

  it('keeps __proto__ and constructor keys as own data properties (no prototype pollution)', () => {
    const data = pickleOf(
      0x80, 4, '}', '(',
      shortText('__proto__'), '}', shortText('polluted'), 0x88, 's',
      shortText('constructor'), '}', shortText('prototype'), '}', shortText('polluted'), 0x88, 's', 's',
      'u', '.',
    );
    const decoded = decodePickle(data) as Record<string, unknown>;
    expect(Object.getPrototypeOf(decoded)).toBe(Object.prototype);
    expect(Object.keys(decoded)).toEqual(['__proto__', 'constructor']);
    expect(Object.getOwnPropertyDescriptor(decoded, '__proto__')?.value).toEqual({ polluted: true });
    expect((decoded as { polluted?: unknown }).polluted).toBeUndefined();
    expect(({} as { polluted?: unknown }).polluted).toBeUndefined();
    expect(Object.prototype).not.toHaveProperty('polluted');
  });

  it('refuses every truncation of a real row', () => {
    const full = Buffer.from(loadFixture('dbext_taskset_row').row.result.hex, 'hex');
    for (let length = 0; length < full.length; length++) {
      expect(refusal(full.subarray(0, length)).message).toMatch(/truncated/);
    }
  });

  it('refuses unknown opcodes, stack underflow and memo misses, naming offset and opcode', () => {
    expect(refusal(pickleOf(0x80, 5, 0xff, '.')).message).toContain('at byte 2 (opcode unknown (0xff))');
    expect(refusal(pickleOf(0x80, 5, 0x85, '.')).message).toMatch(/at byte 2 \(opcode TUPLE1 \(0x85\)\).*stack underflow/);
    expect(refusal(pickleOf(0x80, 5, 'e', '.')).message).toMatch(/APPENDS.*no MARK.*stack underflow/);
    expect(refusal(pickleOf(0x80, 5, 'h', 7, '.')).message).toMatch(/BINGET.*memo entry 7.*memo miss/);
    expect(refusal(pickleOf(0x80, 6, 'N', '.')).message).toContain('protocol 6');
  });

  it('refuses protocol 0 text opcodes with a clear message', () => {
    expect(refusal(pickleOf('I1\n.')).message).toMatch(/INT \(0x49\).*protocol 0/);
  });

  it('refuses appending to a tuple and calling with a list, as Python does', () => {
    expect(refusal(pickleOf(0x80, 5, ')', 'N', 'a', '.')).message).toContain('expects a list');
    const callWithList = pickleOf(0x80, 4, 'c', 'datetime\ntimedelta\n', ']', 'R', '.');
    expect(refusal(callWithList).message).toContain('not a tuple');
  });

  it('accepts 100 nested lists and refuses 101', () => {
    const nested = (depth: number) => pickleOf(0x80, 5, ']'.repeat(depth), 'a'.repeat(depth - 1), '.');
    let value = decodePickle(nested(100));
    for (let level = 1; level < 100; level++) value = (value as unknown[])[0];
    expect(value).toEqual([]);
    expect(refusal(nested(101)).message).toMatch(/STOP.*nested more than 100 levels/);
  });

  it('refuses a list that contains itself', () => {
    expect(refusal(pickleOf(0x80, 5, ']', 0x94, 'h', 0, 'a', '.')).message).toContain('contains itself');
  });

  it('refuses shared references that expand beyond the item limit (billion laughs)', () => {
    // Each level is a list holding the previous level ten times: 10^8 items at the top.
    const levels: (number | string | Buffer)[] = [0x80, 5, ']', 0x94, '0'];
    for (let level = 1; level <= 8; level++) levels.push(']', '(', ...Array(10).fill(pickleOf('h', level - 1)), 'e', 0x94, '0');
    levels.push('h', 8, '.');
    expect(refusal(pickleOf(...levels)).message).toContain('more than 10000000 items');
  });

  it('refuses input larger than 64 MiB before decoding', () => {
    expect(refusal(Buffer.alloc(64 * 1024 * 1024 + 1, 0x80)).message).toMatch(/at byte 0 .*67108865 bytes long/);
  });

  it('decodes shared references that stay within the limits', () => {
    const shared = pickleOf(0x80, 5, ']', 0x94, 'K', 1, 'a', '0', ']', '(', 'h', 0, 'h', 0, 'e', '.');
    expect(decodePickle(shared)).toEqual([[1], [1]]);
  });

  it('maps str() of int, float, bool and None keys as Python prints them', () => {
    const float = (value: number) => {
      const bytes = Buffer.alloc(9);
      bytes[0] = 0x47;
      bytes.writeDoubleBE(value, 1);
      return bytes;
    };
    const data = pickleOf(
      0x80, 5, '}', '(',
      'K', 7, shortText('int'),
      float(2), shortText('float'),
      float(1e16), shortText('exp'),
      float(-0), shortText('negative zero'),
      0x88, shortText('bool'),
      'N', shortText('none'),
      'u', '.',
    );
    expect(decodePickle(data)).toEqual({
      '7': 'int',
      '2.0': 'float',
      '1e+16': 'exp',
      '-0.0': 'negative zero',
      True: 'bool',
      None: 'none',
    });
  });

  it('keeps lone surrogates that Python wrote with surrogatepass', () => {
    expect(decodePickle(pickleOf(0x80, 5, 0x8c, 4, Buffer.from([0xed, 0xa0, 0x80, 0x41]), '.'))).toBe('\ud800A');
    expect(refusal(pickleOf(0x80, 5, 0x8c, 1, Buffer.from([0xff]), '.')).message).toContain('not valid UTF-8');
  });
});
