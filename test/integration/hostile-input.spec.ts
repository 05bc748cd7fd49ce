import { INestApplicationContext, Injectable, Logger } from '@nestjs/common';
import fc from 'fast-check';
import { deflateSync, gzipSync } from 'node:zlib';
import { CeleryClient, CeleryTask, CeleryWorker } from '../../lib';
import { CELERY_BROKER } from '../../lib/advanced';
import type { Broker, MessageProperties } from '../../lib/broker/broker.interface';
import { eventually, startCeleryApp } from '../support/celery-app';

/*
 * Hostile input (issue "Reliability and security", item 2): fast-check feeds the worker's message
 * path, through the in-process broker, with malformed and adversarial task messages. Every
 * generated message is built so that it MUST be refused (each differs from `validMessage()` by at
 * least one defect), and for each one the worker must log exactly one "Rejected task message" line,
 * never call the task, and keep serving: the valid message sent after the barrage runs.
 */

const TASK = 'fuzz.record';
const MAX_BYTES = 64 * 1024;
const queue = `fuzz-hostile-${process.pid}-${Date.now()}`;
const calls: unknown[] = [];

@Injectable()
class RecordingTasks {
  @CeleryTask({ name: TASK })
  record(value: unknown): void {
    calls.push(value);
  }
}

interface Hostile {
  body: Buffer;
  properties: MessageProperties;
  /** A substring the one log line must contain, when the reason is certain. */
  reason?: string;
}

const JSON_PROPS = { contentType: 'application/json', contentEncoding: 'utf-8' } as const;
let counter = 0;
const nextId = (): string => `fuzz-${++counter}`;

function validHeaders(id = nextId()): Record<string, unknown> {
  return {
    lang: 'py', task: TASK, id, shadow: null, eta: null, expires: null, group: null, group_index: null, retries: 0,
    timelimit: [null, null], root_id: id, parent_id: null, argsrepr: '(42,)', kwargsrepr: '{}', origin: 'gen1@fuzz', ignore_result: false,
  };
}
const EMBED = '{"callbacks": null, "errbacks": null, "chain": null, "chord": null}';
const validBodyText = (arg = '42'): string => `[[${arg}], {}, ${EMBED}]`;
const message = (body: string | Buffer, headers: Record<string, unknown> | undefined, extra: Partial<MessageProperties> = {}, reason?: string): Hostile => ({
  body: typeof body === 'string' ? Buffer.from(body, 'utf8') : body,
  properties: { ...JSON_PROPS, ...(headers === undefined ? {} : { headers }), ...extra },
  reason,
});
/** The baseline every case departs from; the last step of the suite proves it runs. */
const validMessage = (): Hostile => message(validBodyText(), validHeaders());

const isJson = (text: string): boolean => {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
};

// ---- values of the wrong type -------------------------------------------------------------------
// Scalars JSON can carry: JSON.stringify writes NaN and ±Infinity as null, and a null embed, callbacks
// or chord is what Celery itself sends, so a "wrong" NaN would become a valid message that runs.
const scalarJson = fc.oneof(fc.integer(), fc.double({ noNaN: true, noDefaultInfinity: true }), fc.boolean(), fc.string({ maxLength: 20 }));
const notAString = fc.oneof(
  fc.integer(), fc.double(), fc.boolean(), fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 3 }),
  fc.dictionary(fc.string({ maxLength: 8 }), fc.jsonValue({ maxDepth: 2 }), { maxKeys: 3 }),
);
const notANonNegativeInteger = fc.oneof(
  fc.integer({ max: -1 }), fc.constantFrom(-0.5, 1.5, Number.NaN, Infinity, -Infinity, 1e-9, 2.5e-300),
  fc.double().filter((value) => !Number.isInteger(value)), fc.string({ maxLength: 6 }), fc.boolean(), fc.array(fc.nat(), { maxLength: 2 }), fc.object({ maxDepth: 1 }),
);
const daysIn = (year: number, month: number): number => new Date(Date.UTC(year, month, 0)).getUTCDate();
const pad = (value: number, width = 2): string => String(value).padStart(width, '0');
const invalidDateString = fc.oneof(
  fc.constantFrom('', 'tomorrow', 'now', 'NaN', 'Infinity', '1e10', '1700000000', 'null', '2026-13-01T00:00:00',
    '2026-01-32T00:00:00', '2026-01-01T24:00:00', '2026-01-01T00:60:00+00:00', '2026-01-01 T00:00', '26-01-01T00:00:00', '2026/01/01 00:00:00',
    '\u0000', '9999999-01-01T00:00:00Z', 'T', '2026-01-01T00:00:00+99:99x'),
  fc.string({ maxLength: 30 }).filter((text) => !/\d/.test(text)),
);
const notADate = fc.oneof(notAString, invalidDateString);
const notATimeLimit = fc.oneof(
  fc.integer(), fc.string({ maxLength: 6 }), fc.boolean(), fc.object({ maxDepth: 1 }),
  fc.array(fc.oneof(fc.constant(null), fc.nat()), { maxLength: 5 }).filter((value) => value.length !== 2),
  fc.tuple(fc.oneof(fc.integer({ max: -1 }), fc.string({ maxLength: 3 }), fc.boolean(), fc.constant([])), fc.oneof(fc.constant(null), fc.nat())),
  fc.tuple(fc.oneof(fc.constant(null), fc.nat()), fc.oneof(fc.double({ max: -0.001, noNaN: true }), fc.string({ maxLength: 3 }), fc.object({ maxDepth: 0 }))),
);
const notATaskName = fc.oneof(notAString, fc.constant(''), fc.string({ maxLength: 20 }).filter((name) => name !== TASK));
const notACompression = fc.oneof(notAString, fc.string({ maxLength: 12 }).filter((name) => !['zlib', 'gzip', 'application/x-gzip'].includes(name)));

const WRONG_HEADER: Record<string, fc.Arbitrary<unknown>> = {
  task: notATaskName,
  id: fc.oneof(notAString, fc.constant('')),
  eta: notADate,
  expires: notADate,
  retries: notANonNegativeInteger,
  group_index: notANonNegativeInteger,
  timelimit: notATimeLimit,
  group: notAString,
  root_id: notAString,
  parent_id: notAString,
  shadow: notAString,
  origin: notAString,
  argsrepr: notAString,
  kwargsrepr: notAString,
  compression: notACompression,
};
const wrongHeader = fc.constantFrom(...Object.keys(WRONG_HEADER)).chain((name) => WRONG_HEADER[name].map((value) => ({ name, value })));
/** A header set with one or more wrong values, or `task`/`id` missing. */
const brokenHeaders = fc.oneof(
  fc.array(wrongHeader, { minLength: 1, maxLength: 3 }).map((wrongs) => {
    const headers = validHeaders();
    for (const { name, value } of wrongs) headers[name] = value;
    return headers;
  }),
  fc.constantFrom('task', 'id').map((name) => {
    const headers = validHeaders();
    delete headers[name];
    return headers;
  }),
);

// ---- bodies that are not [args, kwargs, embed] (or whose args do not fit record(value)) --------------
const json = (value: unknown): string => JSON.stringify(value);
const badEmbed = fc.oneof(
  scalarJson.map(json), fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }).map(json),
  fc.oneof(scalarJson, fc.object({ maxDepth: 1 })).map((callbacks) => json({ callbacks })),
  fc.array(fc.oneof(scalarJson, fc.constant(null), fc.constant({ args: [] }), fc.record({ task: fc.oneof(fc.integer(), fc.boolean()) })), { minLength: 1, maxLength: 3 })
    .chain((items) => fc.constantFrom('callbacks', 'errbacks', 'chain').map((name) => json({ [name]: items }))),
  fc.oneof(scalarJson, fc.constant([]), fc.constant({ args: [1] })).map((chord) => json({ chord })),
);
const wrongBody = fc.oneof(
  scalarJson.map(json),
  fc.constant('null'),
  fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 6 }).filter((items) => items.length !== 3).map(json),
  fc.tuple(fc.oneof(scalarJson, fc.object({ maxDepth: 1 }), fc.constant(null)), fc.constant('{}'), fc.constant(EMBED)).map(([args, kwargs, embed]) => `[${json(args)}, ${kwargs}, ${embed}]`),
  fc.oneof(scalarJson, fc.array(fc.jsonValue({ maxDepth: 1 }), { maxLength: 3 }), fc.constant(null)).map((kwargs) => `[[42], ${json(kwargs)}, ${EMBED}]`),
  badEmbed.map((embed) => `[[42], {}, ${embed}]`),
  fc.array(fc.jsonValue({ maxDepth: 1 }), { minLength: 2, maxLength: 5 }).map((args) => `[${json(args)}, {}, ${EMBED}]`), // too many args
  fc.constant(`[[], {}, ${EMBED}]`), // missing the required argument
  fc.dictionary(fc.string({ maxLength: 10 }), fc.jsonValue({ maxDepth: 1 }), { minKeys: 1, maxKeys: 3 }).map((kwargs) => `[[42], ${json(kwargs)}, ${EMBED}]`), // unknown or duplicate kwarg
);
const brokenJson = fc.oneof(
  fc.integer({ min: 0, max: validBodyText().length - 1 }).map((length) => validBodyText().slice(0, length)),
  fc.string({ maxLength: 40 }).filter((text) => !isJson(text)),
  fc.constantFrom('{not json', '[[42], {}, {},]', "[[42], {'a': 1}, {}]", '[[NaN], {}, {}]', '[[Infinity], {}, {}]', '[[42], {}, {}]]', '[[42] {} {}]', '\ufeff[[42], {}, {}]',
    '[[0x2a], {}, {}]', '[[42], {}, {}] // comment', '[["\\x41"], {}, {}]', '[["\\ud800"], {}, {}', '[[undefined], {}, {}]'),
);
const randomBytes = fc.uint8Array({ minLength: 0, maxLength: 64 }).map((bytes) => Buffer.from(bytes));

// ---- adversarial keys anywhere -----------------------------------------------------------------
const hostileKey = fc.constantFrom('__proto__', 'constructor', 'prototype', 'polluted', 'toString', 'valueOf', 'hasOwnProperty', '__defineGetter__', 'value', 'args', 'kwargs', 'callbacks', 'chord', 'task', 'id');
const hostileLeaf = fc.oneof(
  fc.constant('{"polluted": "yes"}'), fc.constant('{"__proto__": {"polluted": "yes"}}'), fc.constant('{"prototype": {"polluted": "yes"}}'),
  fc.constant('null'), fc.integer().map(String), fc.constant('123456789012345678901'), fc.string({ maxLength: 8 }).map(json),
);
const { hostileNode, hostileObject } = fc.letrec<{ hostileNode: string; hostileObject: string; hostileArray: string }>((tie) => ({
  hostileNode: fc.oneof({ depthSize: 'small' }, hostileLeaf, tie('hostileObject'), tie('hostileArray')),
  hostileObject: fc
    .array(fc.tuple(hostileKey, tie('hostileNode')), { minLength: 1, maxLength: 4 })
    .map((entries) => `{${entries.map(([key, value]) => `${json(key)}: ${value}`).join(', ')}}`),
  hostileArray: fc.array(tie('hostileNode'), { maxLength: 3 }).map((items) => `[${items.join(', ')}]`),
}));
const withHostileHeaderKeys = (headers: Record<string, unknown>, keysJson: string): Record<string, unknown> => {
  const hostile = JSON.parse(keysJson) as Record<string, unknown>; // own "__proto__" keys, as a wire decoder could produce
  return Object.assign(JSON.parse(`{${Object.keys(hostile).map((key) => `${json(key)}: ${json(hostile[key])}`).join(', ')}}`) as Record<string, unknown>, headers);
};
const prototypeAttacks = fc.oneof(
  hostileObject.map((kwargs) => message(`[[42], ${kwargs}, ${EMBED}]`, validHeaders())), // unknown kwargs
  hostileNode.map((node) => message(`[[42, ${node}], {}, ${EMBED}]`, validHeaders())), // too many args
  hostileObject.map((embed) => message(`[[42], {}, ${embed}]`, { ...validHeaders(), retries: -1 })), // a hostile embed, then a bad header
  hostileObject.map((body) => message(body, { ...validHeaders(), retries: -1 })), // hybrid v1 body
  hostileObject.map((body) => message(body, undefined)), // v1 body alone: no valid id + task can come of it
  hostileObject.map((keys) => message(validBodyText(), { ...withHostileHeaderKeys({}, keys), ...validHeaders(), id: 7 })), // hostile header names
  hostileObject.map((keys) => message(validBodyText(), withHostileHeaderKeys({ ...validHeaders(), id: 7 }, keys))),
);

// ---- deep nesting ------------------------------------------------------------------------------
const deep = fc.record({
  depth: fc.integer({ min: 100, max: 30_000 }),
  kind: fc.constantFrom('array', 'object'),
  bigInteger: fc.boolean(), // a 16+ digit integer sends the body through the lossless-json parser
  place: fc.constantFrom('kwargs', 'body', 'args'),
}).map(({ depth, kind, bigInteger, place }) => {
  const leaf = bigInteger ? '12345678901234567890' : '1';
  const levels = kind === 'array' ? depth : Math.min(depth, 10_000);
  const nested = kind === 'array' ? `${'['.repeat(levels)}${leaf}${']'.repeat(levels)}` : `${'{"a":'.repeat(levels)}${leaf}${'}'.repeat(levels)}`;
  const body = place === 'kwargs' ? `[[42], ${nested}, ${EMBED}]` : place === 'args' ? `[[42, ${nested}], {}, ${EMBED}]` : nested;
  return message(body, validHeaders());
});

// ---- too large, compressed or not -----------------------------------------------------------------
const huge = fc.record({ size: fc.integer({ min: MAX_BYTES + 1, max: 4 * MAX_BYTES }), valid: fc.boolean() }).map(({ size, valid }) => {
  // A valid message padded over the limit, or garbage that would fail parsing: either way the reason must be the size.
  const body = valid ? validBodyText(json('x'.repeat(size))) : `[[${'['.repeat(size)}`;
  return message(body, validHeaders(), {}, 'over the limit');
});
const BIG_BOMB = deflateSync(Buffer.alloc(64 * 1024 * 1024)); // 64 MiB of zeros in ~64 KiB
const compression = fc.constantFrom('application/x-gzip', 'zlib', 'gzip');
const zlibAttacks = fc.oneof(
  fc.record({ padding: fc.integer({ min: MAX_BYTES, max: 40 * MAX_BYTES }), compression }).map(({ padding, compression }) =>
    message(deflateSync(Buffer.from(validBodyText() + ' '.repeat(padding))), { ...validHeaders(), compression }, {}, 'over the limit'),
  ),
  compression.map((compression) => message(BIG_BOMB, { ...validHeaders(), compression }, {}, 'over the limit')),
  fc.tuple(randomBytes, compression).map(([body, compression]) => message(body, { ...validHeaders(), compression })),
  compression.map((compression) => message(gzipSync(validBodyText()), { ...validHeaders(), compression })), // gzip framing is not zlib
  fc.tuple(wrongBody, compression).map(([body, compression]) => message(deflateSync(body), { ...validHeaders(), compression })),
  fc.tuple(brokenJson, compression).map(([body, compression]) => message(deflateSync(body), { ...validHeaders(), compression })),
);

// ---- content types, pickle ----------------------------------------------------------------------------
const PICKLES = [
  Buffer.from('80049505000000000000004b052e', 'hex'), // pickle.dumps(5)
  Buffer.from("cos\nsystem\n(S'touch /tmp/pwned'\ntR.", 'latin1'), // the classic protocol-0 RCE payload
  Buffer.from('8004952b000000000000008c05706f736978948c0673797374656d9493948c10746f756368202f746d702f70776e65649485945294', 'hex'),
];
const notJsonContentType = fc.oneof(
  fc.constantFrom('application/x-python-serialize', 'application/x-yaml', 'application/x-msgpack', 'text/plain', 'application/data', 'application/json; charset=utf-8',
    'APPLICATION/JSON', ' application/json', 'application/json ', 'application/json\u0000', 'text/json', ''),
  fc.string({ maxLength: 30 }).filter((type) => type !== 'application/json'),
  fc.constant(undefined),
);
const contentTypeAttacks = fc.oneof(
  fc.tuple(notJsonContentType, fc.constantFrom(...PICKLES, Buffer.from(validBodyText()))).map(([contentType, body]) => message(body, validHeaders(), { contentType }, 'is not accepted')),
  fc.constantFrom(...PICKLES).map((body) => message(body, validHeaders())), // pickle bytes labelled JSON
);

// ---- protocol v1 / v2 mixes ----------------------------------------------------------------------------
const v1Body = (fields: Record<string, unknown>): string => json({ id: nextId(), task: TASK, args: [42], kwargs: {}, retries: 0, eta: null, ...fields });
const v1Wrong: Record<string, fc.Arbitrary<unknown>> = {
  ...WRONG_HEADER,
  args: fc.oneof(scalarJson, fc.object({ maxDepth: 1 }), fc.array(fc.nat(), { minLength: 2, maxLength: 4 })),
  kwargs: fc.oneof(scalarJson, fc.array(fc.nat(), { maxLength: 2 }), fc.dictionary(fc.string({ maxLength: 6 }), fc.nat(), { minKeys: 1, maxKeys: 2 })),
  callbacks: fc.oneof(scalarJson, fc.array(fc.oneof(scalarJson, fc.constant({})), { minLength: 1, maxLength: 2 })),
  chord: fc.oneof(scalarJson, fc.constant([]), fc.constant({ args: [] })),
};
delete v1Wrong.compression; // not a body field
// A v1 body is JSON: NaN and ±Infinity become null there, which is a valid value, not a wrong one.
const survivesJson = (value: unknown): boolean => JSON.parse(JSON.stringify({ value }) ?? '{}').value !== null;
const v1WrongField = fc
  .constantFrom(...Object.keys(v1Wrong))
  .chain((name) => v1Wrong[name].filter(survivesJson).map((value) => ({ [name]: value })));
const protocolMixes = fc.oneof(
  fc.constant(null).map(() => message(validBodyText(), undefined)), // v2 body without headers
  fc.constant(null).map(() => message(validBodyText(), {})),
  fc.constantFrom('task', 'id').map((name) => message(validBodyText(), { ...validHeaders(), [name]: undefined })),
  v1WrongField.map((fields) => message(v1Body(fields), undefined)), // v1 with a wrong field
  v1WrongField.map((fields) => message(v1Body(fields), { lang: 'py' })),
  wrongHeader.map(({ name, value }) => message(v1Body({}), { ...validHeaders(), [name]: value })), // hybrid: v2 headers win, one is wrong
  fc.constantFrom('id', 'task').map((name) => message(v1Body({ [name]: undefined }), undefined)), // v1 missing id / task
  fc.tuple(invalidDateString, fc.constantFrom('eta', 'expires')).map(([date, name]) => message(v1Body({ [name]: date }), undefined)),
);

// -------------------------------------------------------------------------------------------------
function snapshotPrototypes(): Map<string, unknown> {
  const snapshot = new Map<string, unknown>();
  for (const [label, proto] of [['Object', Object.prototype], ['Array', Array.prototype], ['Function', Function.prototype], ['String', String.prototype]] as const) {
    for (const key of Reflect.ownKeys(proto)) {
      const descriptor = Object.getOwnPropertyDescriptor(proto, key)!;
      snapshot.set(`${label}.${String(key)}`, descriptor.value ?? descriptor.get);
    }
    snapshot.set(`${label}[[Prototype]]`, Object.getPrototypeOf(proto));
  }
  return snapshot;
}

describe('hostile input to the worker (fast-check, in-process broker)', () => {
  let app: INestApplicationContext;
  let broker: Broker;
  const errors: string[] = [];
  let onError: (() => void) | null = null;
  let bigParses = 0;
  const prototypesBefore = snapshotPrototypes();
  let tried = 0;

  beforeAll(async () => {
    jest.spyOn(Logger.prototype, 'error').mockImplementation((line: unknown) => {
      errors.push(String(line));
      onError?.();
    });
    const parse = JSON.parse;
    jest.spyOn(JSON, 'parse').mockImplementation((text, reviver) => {
      // Our oversized bodies all start with "[["; other large JSON (tooling config) is not ours to count.
      if (typeof text === 'string' && text.length > MAX_BYTES && text.startsWith('[[')) bigParses++;
      return parse(text, reviver);
    });
    app = await startCeleryApp(
      { broker: 'memory://', backend: false, defaultQueue: queue, worker: { queues: [queue], concurrency: 4, maxMessageBytes: MAX_BYTES, etaParkThresholdSeconds: 0 } },
      [RecordingTasks],
    );
    broker = app.get<Broker>(CELERY_BROKER);
  });

  afterAll(async () => {
    await app?.close();
    jest.restoreAllMocks();
  });

  /** Publishes one message to the worker's queue and returns the error lines it caused (waits for the first). */
  async function feed(hostile: Hostile): Promise<string> {
    tried++;
    const before = errors.length;
    const logged = new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`no error line within 2 s for ${hostile.body.subarray(0, 120).toString('latin1')} ${json(hostile.properties).slice(0, 400)}`)), 2_000);
      onError = () => {
        if (errors.length > before) {
          clearTimeout(timer);
          onError = null;
          resolve();
        }
      };
    });
    await broker.publish({ exchange: '', routingKey: queue, body: hostile.body, properties: hostile.properties });
    await logged;
    return errors[before];
  }

  const refused = (arbitrary: fc.Arbitrary<Hostile>) =>
    fc.asyncProperty(arbitrary, async (hostile) => {
      // Each run answers for its own calls: a message that ran the task would otherwise fail every
      // shrink after it, and fast-check would report a refused message as the counterexample. The
      // last step below still checks that no message ever ran.
      const callsBefore = calls.length;
      const line = await feed(hostile);
      expect(line).toMatch(/^Rejected task message .* from queue /);
      if (hostile.reason) expect(line).toContain(hostile.reason);
      expect(calls.slice(callsBefore)).toEqual([]);
    });

  const RUNS = { headers: 500, bodies: 300, brokenJson: 200, bytes: 100, prototype: 300, deep: 60, huge: 60, zlib: 120, contentTypes: 150, mixes: 250 };

  const CASES: [string, fc.Arbitrary<Hostile>, number][] = [
    ['wrong types / missing values in every v2 header', brokenHeaders.map((headers) => message(validBodyText(), headers)), RUNS.headers],
    ['bodies that are not [args, kwargs, embed] or do not fit the task', wrongBody.map((body) => message(body, validHeaders())), RUNS.bodies],
    ['broken JSON', brokenJson.map((body) => message(body, validHeaders())), RUNS.brokenJson],
    ['random bytes', randomBytes.map((body) => message(body, validHeaders())), RUNS.bytes],
    ['__proto__ / constructor / prototype keys anywhere', prototypeAttacks, RUNS.prototype],
    ['deep nesting (arrays and objects, both JSON parsers)', deep, RUNS.deep],
    [`bodies over maxMessageBytes (${MAX_BYTES}), refused before parsing`, huge, RUNS.huge],
    ['zlib bombs and bad compressed data', zlibAttacks, RUNS.zlib],
    ['unknown content types and pickle bytes', contentTypeAttacks, RUNS.contentTypes],
    ['protocol v1 / v2 mixes and invalid eta / expires', protocolMixes, RUNS.mixes],
  ];
  for (const [what, arbitrary, numRuns] of CASES) {
    it(`refuses ${what} with one log line, never running the task (${numRuns} cases)`, async () => {
      await fc.assert(refused(arbitrary), { numRuns });
    });
  }

  it('after the barrage: one line per refused message, no pollution, nothing parsed over the limit, and the worker still serves', async () => {
    const total = Object.values(RUNS).reduce((sum, runs) => sum + runs, 0);
    expect(tried).toBeGreaterThanOrEqual(total); // shrinking would add runs only on failure
    await new Promise((resolve) => setTimeout(resolve, 100)); // late lines (e.g. a FAILURE store error) would show up here
    expect(errors.length).toBe(tried);
    expect(errors.every((line) => line.startsWith('Rejected task message '))).toBe(true);
    expect(bigParses).toBe(0);
    expect(({} as Record<string, unknown>).polluted).toBeUndefined();
    expect(snapshotPrototypes()).toEqual(prototypesBefore);
    expect(calls).toEqual([]);
    expect(await broker.queueDepth(queue)).toBe(0);

    const worker = app.get(CeleryWorker);
    expect(worker.isRunning).toBe(true);
    const valid = validMessage();
    await broker.publish({ exchange: '', routingKey: queue, body: valid.body, properties: valid.properties });
    await app.get(CeleryClient).send(TASK, [43]);
    await eventually(() => (calls.length >= 2 ? true : undefined), 5_000, 'the valid tasks');
    expect(calls.sort()).toEqual([42, 43]);
    expect(errors.length).toBe(tried);
    console.log(`hostile-input: ${tried} malformed messages tried across ${Object.keys(RUNS).length} properties, all refused with one line each; worker still serving`);
  });

  // Found by this suite: Date.UTC rolled impossible dates over (2026-02-30 → 2026-03-02); fixed in parseCeleryDate.
  it('refuses eta / expires dates that do not exist on the calendar, as Python does', async () => {
    const before = { errors: errors.length, calls: calls.length };
    const impossible = ['2026-00-10T00:00:00', '2026-01-00T00:00:00', '2026-02-30T00:00:00+00:00', '2026-04-31T12:00:00Z', '0000-01-01T00:00:00'];
    for (const date of impossible) {
      for (const name of ['eta', 'expires']) {
        const hostile = message(validBodyText(), { ...validHeaders(), [name]: date });
        await broker.publish({ exchange: '', routingKey: queue, body: hostile.body, properties: hostile.properties });
      }
    }
    await new Promise((resolve) => setTimeout(resolve, 300));
    expect(calls.length - before.calls).toBe(0);
    expect(errors.length - before.errors).toBe(impossible.length * 2);
  });
});
