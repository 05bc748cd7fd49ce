import { spawnSync } from 'node:child_process';
import { inspect } from 'node:util';
import {
  decodePickle,
  encodePickle,
  PickledAsyncResult,
  PickledGroupResult,
  PythonTuple,
  pythonTuple,
  UnpicklableValueError,
} from '../../lib/protocol/pickle';
import { CELERY_PEER, PYTHON, pythonEnvironment } from '../support/celery-peer';
import { loadFixture } from '../support/fixtures';

const hex = (value: unknown) => encodePickle(value).toString('hex');
/** PROTO 3 … STOP around the hex of one value. */
const framed = (body: string) => `8003${body}2e`;
const text = (value: string) => Buffer.from(value, 'latin1').toString('hex');
const binunicode = (value: string) => {
  const bytes = Buffer.from(value, 'utf8');
  const length = Buffer.alloc(4);
  length.writeUInt32LE(bytes.length);
  return `58${length.toString('hex')}${bytes.toString('hex')}`;
};

describe('encodePickle bytes', () => {
  it('writes scalars with the protocol-3 opcodes verified against Celery 5.2.6', () => {
    expect(hex(null)).toBe(framed('4e'));
    expect(hex(true)).toBe(framed('88'));
    expect(hex(false)).toBe(framed('89'));
    expect(hex(5)).toBe(framed('4a05000000'));
    expect(hex(-1)).toBe(framed('4affffffff'));
    expect(hex(5n)).toBe(framed('4a05000000'));
    expect(hex(2 ** 31)).toBe(framed('8a050000008000'));
    expect(hex(2n ** 70n)).toBe(framed('8a09000000000000000040'));
    expect(hex(-(2n ** 70n))).toBe(framed('8a090000000000000000c0'));
    expect(hex(1.5)).toBe(framed('473ff8000000000000'));
    expect(hex(-0)).toBe(framed('478000000000000000'));
    expect(hex(Number.NaN)).toBe(framed('477ff8000000000000'));
    expect(hex(Infinity)).toBe(framed('477ff0000000000000'));
    expect(hex(2 ** 60)).toBe(framed('4743b0000000000000')); // beyond 2^53 a number is a float; use bigint for an int
    expect(hex('é')).toBe(framed('5802000000c3a9'));
    expect(hex('\ud800')).toBe(framed('5803000000eda080')); // surrogatepass, as Python writes lone surrogates
    expect(hex(Buffer.from([0, 255]))).toBe(framed('420200000000ff'));
  });

  it('writes lists, dicts and tuples', () => {
    expect(hex([])).toBe(framed('5d'));
    expect(hex([1, null])).toBe(framed('5d284a010000004e65'));
    expect(hex({})).toBe(framed('7d'));
    expect(hex({ a: 1 })).toBe(framed(`7d28${binunicode('a')}4a0100000075`));
    expect(hex(pythonTuple([]))).toBe(framed('29'));
    expect(hex(pythonTuple([null]))).toBe(framed('4e85'));
    expect(hex(pythonTuple([null, true]))).toBe(framed('4e8886'));
    expect(hex(pythonTuple([null, true, false]))).toBe(framed('4e888987'));
    expect(hex(new PythonTuple([null, null, null, null]))).toBe(framed('284e4e4e4e74'));
  });

  it('batches APPENDS and SETITEMS by 1000 like Python', () => {
    const list = encodePickle(Array(2001).fill(null));
    expect(list.toString('hex')).toBe(framed(`5d28${'4e'.repeat(1000)}6528${'4e'.repeat(1000)}65284e65`));
    const dict = Object.fromEntries(Array.from({ length: 1001 }, (_, index) => [`k${index}`, null]));
    const encoded = encodePickle(dict);
    expect(encoded.filter((byte) => byte === 0x75)).toHaveLength(2); // SETITEMS
    expect(decodePickle(encoded)).toEqual(dict);
  });

  it('writes a Date as a naive UTC datetime.datetime', () => {
    const date = new Date('2026-11-24T08:01:02.123Z');
    expect(hex(date)).toBe(framed(`63${text('datetime\ndatetime\n')}420a00000007ea0b1808010201e0788552`));
  });

  it('writes groups as GLOBAL celery.result GroupResult of AsyncResult, never a backend', () => {
    const group = new PickledGroupResult('g', [new PickledAsyncResult('c1'), new PickledAsyncResult('c2', new PickledAsyncResult('p'))]);
    const asyncResult = text('celery.result\nAsyncResult\n');
    expect(hex(group)).toBe(
      framed(
        `63${text('celery.result\nGroupResult\n')}${binunicode('g')}5d28` +
          `63${asyncResult}${binunicode('c1')}8552` +
          `63${asyncResult}28${binunicode('c2')}4e4e4e63${asyncResult}${binunicode('p')}855274` + '52' +
          '658652',
      ),
    );
  });

  it('writes values the 5.2.6 client was verified to read (compat_client_reads) so that they decode the same', () => {
    const { cases } = loadFixture('compat_client_reads');
    const success = { a: [1, 2.5, 'x', null, true], big: 2n ** 70n, t: pythonTuple([1, 'two']) };
    const failure = { exc_type: 'ValueError', exc_message: pythonTuple(['from TS']), exc_module: 'builtins' };
    const group = new PickledGroupResult('56a287fa-628b-4765-ae39-f0b3b7f0ab92', [
      new PickledAsyncResult('02baef08-48ef-48ac-8a58-2e1b26ffdac8'),
      new PickledAsyncResult('e0380058-9325-47f8-8526-35b6ae6fed92'),
    ]);
    const pairs: [unknown, string][] = [
      [success, 'db.success_mini_pickle_proto3'],
      [failure, 'db.failure_mini_pickle_proto3'],
      [group, 'db.taskset_mini_pickle'],
    ];
    for (const [value, name] of pairs) {
      const verified = Buffer.from(cases[name].result_hex, 'hex');
      expect(decodePickle(encodePickle(value))).toStrictEqual(decodePickle(verified));
    }
  });
});

describe('encodePickle refusals', () => {
  const refusal = (value: unknown): UnpicklableValueError => {
    try {
      encodePickle(value);
    } catch (error) {
      expect(error).toBeInstanceOf(UnpicklableValueError);
      return error as UnpicklableValueError;
    }
    throw new Error(`expected ${inspect(value)} to be refused`);
  };

  it('names the path and the type of what cannot be pickled', () => {
    expect(refusal({ items: [1, 2, 3, undefined] }).message).toContain('Cannot pickle result.items[3]');
    expect(refusal({ items: [1, 2, 3, undefined] }).message).toContain('undefined has no Python equivalent');
    expect(refusal({ 'a b': { f: () => 1 } }).path).toBe('result["a b"].f');
    expect(refusal({ f: () => 1 }).found).toBe('a function');
    expect(refusal([Symbol('s')]).found).toBe('a symbol');
    expect(refusal({ m: new Map() }).found).toBe('a Map instance');
    class Custom {}
    expect(refusal(pythonTuple([1, new Custom()])).path).toBe('result.items[1]');
    expect(refusal(new PickledGroupResult('g', [{ id: 'x' } as PickledAsyncResult])).path).toBe('result.results[0]');
    expect(refusal(new PickledAsyncResult('a', new PickledAsyncResult(5 as unknown as string))).path).toBe('result.parent.id');
  });

  it('refuses to write a pickle larger than the decoder reads back (64 MiB)', () => {
    const error = refusal({ blob: Buffer.alloc(64 * 1024 * 1024) });
    expect(error.path).toBe('result');
    expect(error.message).toContain('larger than the 67108864-byte limit');
  });

  it('refuses dates Python cannot hold', () => {
    expect(refusal({ at: new Date(Number.NaN) }).message).toContain('invalid Date');
    expect(refusal(new Date('+010000-01-01T00:00:00Z')).message).toContain('years 1 to 9999');
  });

  it('refuses values that contain themselves or nest deeper than 100 levels', () => {
    const cyclic: Record<string, unknown> = {};
    cyclic.self = cyclic;
    expect(refusal(cyclic).message).toContain('nested more than 100 levels deep (or contains itself)');
    const nested = (depth: number): unknown => (depth === 0 ? 1 : [nested(depth - 1)]);
    expect(decodePickle(encodePickle(nested(100)))).toEqual(nested(100));
    expect(refusal(nested(101)).message).toContain('nested more than 100 levels');
  });
});

/**
 * Python's side of the round trip: loads the pickles we wrote and describes what it got, writes
 * pickles of its own values (protocols 2–5) with their descriptions, and dumps ints and floats
 * for byte-exact comparison. One process for all cases keeps the test fast.
 */
const PYTHON_SCRIPT = String.raw`
import datetime, json, os, pickle, struct, sys
import celery, celery.result
from celery import Celery

assert celery.__version__ == os.environ['EXPECTED_CELERY_VERSION'], celery.__version__
app = Celery('roundtrip', backend='db+postgresql://celery:s3cr3t-password@db.example/results', set_as_current=True)
# Celery 5.6 creates its tables when the backend is set up; this one is never connected to.
app.conf.database_create_tables_at_setup = False
EPOCH = datetime.datetime(1970, 1, 1)

def describe(value):
    if value is None or isinstance(value, bool):
        return value
    if isinstance(value, int):
        return {'int': str(value)}
    if isinstance(value, float):
        return {'float': struct.pack('>d', value).hex()}
    if isinstance(value, str):
        return {'str': value}
    if isinstance(value, (bytes, bytearray)):
        return {'bytes': value.hex()}
    if isinstance(value, list):
        return {'list': [describe(item) for item in value]}
    if isinstance(value, tuple):
        return {'tuple': [describe(item) for item in value]}
    if isinstance(value, (set, frozenset)):
        return {'set': [describe(item) for item in value]}
    if isinstance(value, dict):
        return {'dict': [[str(key), describe(item)] for key, item in value.items()]}
    if isinstance(value, datetime.datetime):
        utc = (value - value.utcoffset()).replace(tzinfo=None) if value.tzinfo else value
        return {'datetime': {'epoch_us': (utc - EPOCH) // datetime.timedelta(microseconds=1), 'naive': value.tzinfo is None}}
    if isinstance(value, datetime.timedelta):
        return {'timedelta': value.total_seconds()}
    if isinstance(value, celery.result.GroupResult):
        return {'group': {'type': type(value).__name__, 'id': value.id, 'results': [describe(item) for item in value.results]}}
    if isinstance(value, celery.result.AsyncResult):
        return {'async': {'type': type(value).__name__, 'id': value.id, 'parent': describe(value.parent)}}
    raise TypeError('cannot describe %r' % type(value))

def loaded(hex_text):
    try:
        return {'ok': describe(pickle.loads(bytes.fromhex(hex_text)))}
    except Exception as error:
        return {'error': repr(error)}

shared = [1]
plain = [
    5, -1, 2**31, -2**31 - 1, 2**63, 2**70, -2**70, 2**2100, -2**2100,
    1.5, 1.0, -0.0, float('inf'), float('-inf'), float('nan'), 1e300,
    '', 'plain', 'h\u00e9llo \u2603 \U0001F600', 'lone \ud800 surrogate',
    [1, [2, [3, None]]], (1, 'two'), (), (1,), (1, 2, 3, 4), {'a': {'b': [None, True, False]}},
    {7: 'int', 2.0: 'float', 1.5: 'fraction', 1e16: 'exp', -0.0: 'negative zero', None: 'none', True: 'bool', 'x': 'str', 2**70: 'bigint'},
    list(range(2500)), {str(i): i for i in range(1500)}, [shared, shared],
    {'__proto__': {'polluted': True}, 'constructor': 'c'},
    {'exc_type': 'ValueError', 'exc_message': ('boom',), 'exc_module': 'builtins'},
]
# Before protocol 4 sets, and before 5 bytearray, pickle as calls to builtins, which are not allow-listed.
sets = [{1, 2, 3}, frozenset(['a'])]
rich = [
    b'\x00\xff',
    datetime.datetime(2026, 11, 24, 8, 1, 2, 123456),
    datetime.datetime(2026, 11, 24, 8, 1, 2, tzinfo=datetime.timezone.utc),
    datetime.datetime(2026, 1, 1, 2, 30, tzinfo=datetime.timezone(datetime.timedelta(hours=2))),
    datetime.timedelta(days=1, seconds=3, microseconds=5),
    app.GroupResult('gid', [app.AsyncResult('c1'), app.AsyncResult('c2', parent=app.AsyncResult('p1'))]),
    celery.result.GroupResult('plain-gid', [celery.result.AsyncResult('plain-child')]),
]
written = []
for protocol in (2, 3, 4, 5):
    newer = (sets if protocol >= 4 else []) + ([bytearray(b'ab')] if protocol >= 5 else [])
    for value in plain + (rich if protocol >= 3 else []) + newer:
        written.append({'protocol': protocol, 'hex': pickle.dumps(value, protocol=protocol).hex(), 'described': describe(value)})

request = json.load(sys.stdin)
json.dump({
    'loaded': [loaded(item) for item in request['load']],
    'dumpedInts': [pickle.dumps(int(item), protocol=3).hex() for item in request['dumpInts']],
    'dumpedFloats': [pickle.dumps(struct.unpack('>d', bytes.fromhex(item))[0], protocol=3).hex() for item in request['dumpFloats']],
    'written': written,
}, sys.stdout)
`;

interface PythonReply {
  loaded: ({ ok: unknown } | { error: string })[];
  dumpedInts: string[];
  dumpedFloats: string[];
  written: { protocol: number; hex: string; described: unknown }[];
}

function askPython(request: { load: string[]; dumpInts: string[]; dumpFloats: string[] }): PythonReply {
  const run = spawnSync(PYTHON, ['-c', PYTHON_SCRIPT], { input: JSON.stringify(request), encoding: 'utf8', timeout: 30_000, env: pythonEnvironment({ EXPECTED_CELERY_VERSION: CELERY_PEER.version }) });
  if (run.error || run.status !== 0) {
    // Never a skip: CI and local runs must have Python Celery, or this proves nothing.
    throw new Error(
      `The round trip needs ${PYTHON} with ${CELERY_PEER.name} (apt install python3-celery): ` +
        `${run.error?.message ?? `exit ${run.status}`}\n${run.stderr}`,
    );
  }
  return JSON.parse(run.stdout) as PythonReply;
}

const floatBits = (value: number) => {
  const bytes = Buffer.alloc(8);
  bytes.writeDoubleBE(value);
  return bytes.toString('hex');
};

/** How Python's describe() will see a value we encode. */
function describeForPython(value: unknown): unknown {
  if (value === null || typeof value === 'boolean') return value;
  if (typeof value === 'bigint') return { int: value.toString() };
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && !Object.is(value, -0) ? { int: String(value) } : { float: floatBits(value) };
  }
  if (typeof value === 'string') return { str: value };
  if (Buffer.isBuffer(value)) return { bytes: value.toString('hex') };
  if (Array.isArray(value)) return { list: value.map(describeForPython) };
  if (value instanceof PythonTuple) return { tuple: value.items.map(describeForPython) };
  if (value instanceof Date) return { datetime: { epoch_us: value.getTime() * 1000, naive: true } };
  if (value instanceof PickledGroupResult) {
    return { group: { type: 'GroupResult', id: value.id, results: value.results.map(describeForPython) } };
  }
  if (value instanceof PickledAsyncResult) {
    return { async: { type: 'AsyncResult', id: value.id, parent: describeForPython(value.parent) } };
  }
  return { dict: Object.entries(value as object).map(([key, item]) => [key, describeForPython(item)]) };
}

/** What our decoder should give for a value Python described. */
function expectedFromPython(described: unknown): unknown {
  if (described === null || typeof described === 'boolean') return described;
  const [[tag, content]] = Object.entries(described as Record<string, any>);
  switch (tag) {
    case 'int': {
      const integer = BigInt(content);
      return Number.isSafeInteger(Number(integer)) ? Number(integer) : integer;
    }
    case 'float':
      return Buffer.from(content, 'hex').readDoubleBE();
    case 'str':
      return content;
    case 'bytes':
      return Buffer.from(content, 'hex');
    case 'list':
    case 'tuple':
    case 'set':
      return content.map(expectedFromPython);
    case 'dict': {
      const entries = (content as [string, unknown][]).map(([key, item]) => [key, expectedFromPython(item)] as const);
      const dict: Record<string, unknown> = {};
      for (const [key, item] of entries) Object.defineProperty(dict, key, { value: item, enumerable: true, writable: true, configurable: true });
      return dict;
    }
    case 'datetime':
      return new Date(Math.floor(content.epoch_us / 1000));
    case 'timedelta':
      return content;
    case 'group':
      return new PickledGroupResult(content.id, content.results.map(expectedFromPython));
    case 'async':
      return new PickledAsyncResult(content.id, content.parent === null ? null : (expectedFromPython(content.parent) as PickledAsyncResult));
    default:
      throw new Error(`unknown description ${tag}`);
  }
}

describe(`round trip with ${CELERY_PEER.name}`, () => {
  const ints = [2n ** 31n, -(2n ** 31n) - 1n, 2n ** 32n, 2n ** 63n, -(2n ** 63n), 2n ** 64n + 1n, -(2n ** 70n), 255n << 2048n, -(2n ** 2047n), 2n ** 2040n - 1n];
  const floats = [0.1, 1.5, -2.5, 1e300, 5e-324, -0, Number.NaN, Infinity, -Infinity];
  const valuesForPython: unknown[] = [
    null,
    true,
    false,
    0,
    -7,
    2 ** 40,
    Number.MAX_SAFE_INTEGER,
    2n ** 64n + 3n,
    -(2n ** 100n),
    2n ** 3000n,
    0.1,
    -0,
    Number.NaN,
    Infinity,
    'plain',
    'h\u00e9llo \u2603 \u{1F600} \u{10FFFF}',
    'lone \ud800 surrogate',
    '',
    Buffer.from([0, 1, 2, 255]),
    [1, [2, [3, [null, true, false]]]],
    pythonTuple([]),
    pythonTuple(['one']),
    pythonTuple([1, 'two']),
    pythonTuple([1, 2, 3, pythonTuple([4])]),
    { a: { b: [1.25, 'x'] }, 'key with spaces': null, '': 0, 'ünï': 'cödé' },
    { __proto__: null, made: 'without a prototype' },
    JSON.parse('{"__proto__": {"polluted": true}}'),
    { exc_type: 'ValueError', exc_message: pythonTuple(['from TS']), exc_module: 'builtins' },
    Array.from({ length: 2345 }, (_, index) => index),
    Object.fromEntries(Array.from({ length: 1234 }, (_, index) => [`k${index}`, [index]])),
    new Date('2026-11-24T08:01:02.123Z'),
    new Date('0001-01-01T00:00:00.000Z'),
    new Date('9999-12-31T23:59:59.999Z'),
    new PickledGroupResult('group-id', [new PickledAsyncResult('child-1'), new PickledAsyncResult('child-2')]),
    new PickledGroupResult('with-parents', [new PickledAsyncResult('child', new PickledAsyncResult('parent', new PickledAsyncResult('grandparent')))]),
    new PickledGroupResult('empty-group', []),
    new PickledAsyncResult('lonely'),
  ];
  let reply: PythonReply;

  beforeAll(() => {
    reply = askPython({
      load: valuesForPython.map((value) => encodePickle(value).toString('hex')),
      dumpInts: ints.map(String),
      dumpFloats: floats.map(floatBits),
    });
  });

  it('Python reads every value we write as the same Python value', () => {
    expect(reply.loaded).toHaveLength(valuesForPython.length);
    valuesForPython.forEach((value, index) => {
      expect({ index, read: reply.loaded[index] }).toEqual({ index, read: { ok: describeForPython(value) } });
    });
  });

  it('restores our groups as working celery.result.GroupResult objects with their child ids', () => {
    const group = reply.loaded[valuesForPython.findIndex((value) => value instanceof PickledGroupResult)] as { ok: any };
    expect(group.ok.group.type).toBe('GroupResult');
    expect(group.ok.group.results.map((child: any) => [child.async.type, child.async.id])).toEqual([
      ['AsyncResult', 'child-1'],
      ['AsyncResult', 'child-2'],
    ]);
  });

  it('writes ints beyond int32 and floats with exactly the bytes Python writes', () => {
    expect(ints.map((value) => encodePickle(value).toString('hex'))).toEqual(reply.dumpedInts);
    expect(floats.map((value) => encodePickle(value).toString('hex'))).toEqual(reply.dumpedFloats);
  });

  it('decodes what Python pickles with protocols 2 to 5', () => {
    expect(reply.written.length).toBeGreaterThan(150);
    for (const { protocol, hex: pickleHex, described } of reply.written) {
      const decoded = decodePickle(Buffer.from(pickleHex, 'hex'));
      expect({ protocol, pickleHex, decoded }).toStrictEqual({ protocol, pickleHex, decoded: expectedFromPython(described) });
    }
  });

  it('drops the pickled database backend and its password', () => {
    const appGroups = reply.written.filter(({ hex: pickleHex }) => Buffer.from(pickleHex, 'hex').includes('s3cr3t-password'));
    expect(appGroups.length).toBeGreaterThanOrEqual(3);
    for (const { hex: pickleHex } of appGroups) {
      const decoded = decodePickle(Buffer.from(pickleHex, 'hex'));
      expect(decoded).toBeInstanceOf(PickledGroupResult);
      expect(inspect(decoded, { depth: null, showHidden: true })).not.toMatch(/s3cr3t|postgresql|Backend/);
    }
  });
});
