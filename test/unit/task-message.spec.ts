import { deflateSync } from 'node:zlib';
import { decodeTaskMessage } from '../../lib/protocol/decode-task-message';
import { encodeTaskMessage } from '../../lib/protocol/encode-task-message';
import { formatCeleryDate, parseCeleryDate } from '../../lib/protocol/celery-time';
import { InvalidTaskMessageError } from '../../lib/errors/invalid-task-message.error';
import { capturedBody, capturedProperties, CapturedMessage, loadFixture } from '../support/fixtures';

const V2_FIXTURES = [
  'task_v2_apply_async_args_kwargs',
  'task_v2_delay_minimal',
  'task_v2_countdown',
  'task_v2_eta_aware_datetime',
  'task_v2_expires_seconds',
  'task_v2_expires_datetime',
  'task_v2_timelimit_shadow_custom_header',
  'task_v2_link_link_error',
  'task_v2_chain_of_3_first_message',
  'task_v2_priority',
  'task_v2_custom_queue_name',
  'task_v2_compression_zlib',
];

function message(name: string): CapturedMessage {
  const fixture = loadFixture(name);
  return fixture.message ?? fixture.messages[0];
}

describe('task messages against Celery 5.2.6 captures', () => {
  it.each(V2_FIXTURES)('re-encodes %s to the same body bytes and header values', (name) => {
    const captured = message(name);
    const decoded = decodeTaskMessage(capturedBody(captured), capturedProperties(captured));
    const encoded = encodeTaskMessage(decoded);

    if (captured.body_format === 'json') expect(encoded.body.toString('utf8')).toBe(captured.body_raw);
    const headers = encoded.properties.headers!;
    for (const [key, value] of Object.entries(captured.headers)) {
      if (key === 'lang' || key === 'compression') continue;
      if ((key === 'eta' || key === 'expires') && typeof value === 'string') {
        // JS dates hold milliseconds: the microseconds beyond them are the only difference allowed.
        expect(parseCeleryDate(headers[key] as string)?.getTime()).toBe(parseCeleryDate(value)?.getTime());
        continue;
      }
      expect({ key, value: headers[key] }).toEqual({ key, value });
    }
    expect(encoded.properties.correlationId).toBe(captured.properties.correlation_id);
    expect(encoded.properties.contentType).toBe('application/json');
    expect(encoded.properties.deliveryMode).toBe(2);
  });

  it('decodes every field of a full v2 message', () => {
    const decoded = decodeTaskMessage(
      capturedBody(message('task_v2_apply_async_args_kwargs')),
      capturedProperties(message('task_v2_apply_async_args_kwargs')),
    );
    expect(decoded).toMatchObject({
      id: '42375cdc-edc3-4f78-aef4-e3d118a97951',
      task: 'proto.echo',
      args: [1, 'two', [3, 4.5], null, true],
      kwargs: { k: 'v', nested: { a: [1] } },
      retries: 0,
      rootId: '42375cdc-edc3-4f78-aef4-e3d118a97951',
      parentId: null,
      replyTo: '3da81813-64a3-3636-b6d7-5d75b1829279',
      timeLimit: [null, null],
    });
  });

  it('keeps custom headers apart from Celery headers', () => {
    const captured = message('task_v2_timelimit_shadow_custom_header');
    const decoded = decodeTaskMessage(capturedBody(captured), capturedProperties(captured));
    expect(decoded.customHeaders).toEqual({ 'x-custom': 'hi' });
    expect(decoded.shadow).not.toBeNull();
  });

  it('decodes protocol v1 bodies (celery-php style and full)', () => {
    const captured = message('task_v1_message');
    const decoded = decodeTaskMessage(capturedBody(captured), capturedProperties(captured));
    expect(decoded).toMatchObject({ task: 'proto.add', args: [2, 3], kwargs: {}, retries: 0 });
    expect(decoded.eta?.toISOString()).toBe('2026-11-24T08:34:40.974Z');

    const cases = loadFixture('compat_worker_accepts').cases;
    for (const name of ['v1_minimal_celery_php_style', 'v1_full_with_utc_eta', 'v1_with_callbacks', 'hybrid_v1_body_with_v2_task_header']) {
      const sent = cases[name];
      const body = Buffer.from(JSON.stringify(sent.sent_body));
      const decodedCase = decodeTaskMessage(body, { contentType: 'application/json', headers: sent.sent_headers ?? {} });
      expect(decodedCase.id).toBe(sent.task_id);
      expect(decodedCase.args).toEqual(sent.sent_body.args);
    }
    expect(
      decodeTaskMessage(Buffer.from(JSON.stringify(cases.v1_with_callbacks.sent_body)), { contentType: 'application/json' }).embed
        .callbacks?.[0].task,
    ).toBe('proto.add');
  });

  it('accepts the minimal v2 forms the 5.2.6 worker accepts', () => {
    const cases = loadFixture('compat_worker_accepts').cases;
    for (const name of ['v2_minimal_headers', 'v2_minimal_embed_empty_object', 'v2_kwargs_only', 'v2_naive_eta', 'v2_z_suffix_eta']) {
      const sent = cases[name];
      const decoded = decodeTaskMessage(Buffer.from(JSON.stringify(sent.sent_body)), {
        contentType: 'application/json',
        headers: sent.sent_headers,
      });
      expect(decoded.id).toBe(sent.task_id);
    }
  });

  it.each([
    ['pickle content', Buffer.from('gAQ=', 'base64'), { contentType: 'application/x-python-serialize' }, /content type .*x-python-serialize.* not accepted/],
    ['yaml content', Buffer.from('a: 1'), { contentType: 'application/x-yaml' }, /not accepted/],
    ['broken JSON', Buffer.from('[[1,'), { contentType: 'application/json', headers: { task: 't', id: 'i' } }, /not valid JSON/],
    ['two-element body', Buffer.from('[[1], {}]'), { contentType: 'application/json', headers: { task: 't', id: 'i' } }, /exactly 3 elements/],
    ['missing task header', Buffer.from('[[1], {}, {}]'), { contentType: 'application/json', headers: { id: 'i' } }, /"task" header is missing/],
    ['numeric id', Buffer.from('[[1], {}, {}]'), { contentType: 'application/json', headers: { task: 't', id: 5 } }, /"id" must be a non-empty string/],
    ['args not a list', Buffer.from('[{"a":1}, {}, {}]'), { contentType: 'application/json', headers: { task: 't', id: 'i' } }, /args must be a JSON array/],
    ['bad eta', Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers: { task: 't', id: 'i', eta: 'tomorrow' } }, /"eta" must be an ISO-8601 date/],
    ['negative retries', Buffer.from('[[], {}, {}]'), { contentType: 'application/json', headers: { task: 't', id: 'i', retries: -1 } }, /"retries" must be a non-negative integer/],
    ['scalar body', Buffer.from('42'), { contentType: 'application/json' }, /must be a JSON array/],
  ])('refuses %s with a reason', (_name, body, properties, reason) => {
    let error: unknown;
    try {
      decodeTaskMessage(body, properties);
    } catch (caught) {
      error = caught;
    }
    expect(error).toBeInstanceOf(InvalidTaskMessageError);
    expect((error as Error).message).toMatch(reason);
  });

  describe('the embed (callbacks, errbacks, chain, chord)', () => {
    const properties = { contentType: 'application/json', headers: { task: 't', id: 'i' } };
    const decodeEmbed = (embed: unknown) => decodeTaskMessage(Buffer.from(JSON.stringify([[42], {}, embed])), properties).embed;

    it('accepts every shape Celery sends: nulls, empty lists, signature lists, a chain, a chord body', () => {
      expect(decodeEmbed(null)).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
      expect(decodeEmbed({})).toEqual({ callbacks: null, errbacks: null, chain: null, chord: null });
      expect(decodeEmbed({ callbacks: [], errbacks: [], chain: [], chord: null })).toEqual({ callbacks: [], errbacks: [], chain: [], chord: null });
      const decodeCaptured = (captured: CapturedMessage) => decodeTaskMessage(capturedBody(captured), capturedProperties(captured)).embed;
      const link = decodeCaptured(message('task_v2_link_link_error'));
      expect(link.callbacks?.map((signature) => signature.task)).toEqual(['proto.cb']);
      expect(link.errbacks?.map((signature) => signature.task)).toEqual(['proto.errback_old', 'proto.errback_new']);
      expect(decodeCaptured(message('task_v2_chain_of_3_first_message')).chain?.map((signature) => signature.args)).toEqual([[4], [3]]);
      expect(decodeCaptured(message('db_chord_all_messages')).chord?.task).toBe('proto.tsum');
    });

    // Celery tests them for truth (`if callbacks:`, `if request.errbacks:`), so it runs a task whose
    // embed holds 0, false or '' as if there were none, and fails after running it on most other
    // wrong values (len(1), signature('abc')). No Celery producer sends either: both are refused
    // before the task runs, falsy or not.
    it.each([0, false, ''])('refuses %p in place of a list or a signature, although it is falsy', (value) => {
      expect(() => decodeEmbed(value)).toThrow(/the embed \(third body element\) must be an object/);
      for (const name of ['callbacks', 'errbacks', 'chain']) {
        expect(() => decodeEmbed({ [name]: value })).toThrow(new RegExp(`embed\\.${name} must be a list of signatures or null`));
        expect(() => decodeEmbed({ [name]: [value] })).toThrow(new RegExp(`embed\\.${name}\\[0\\] must be a signature object`));
      }
      expect(() => decodeEmbed({ chord: value })).toThrow(/embed\.chord must be a signature object/);
    });
  });

  it('refuses a body over the size limit before parsing it, and a zlib body that inflates past it', () => {
    const properties = { contentType: 'application/json', headers: { task: 't', id: 'big' } };
    expect(() => decodeTaskMessage(Buffer.alloc(2048, 32), properties, { maxBytes: 1024 })).toThrow(/2048 bytes, over the limit of 1024/);
    const bomb = deflateSync(Buffer.from(`[["${'a'.repeat(100_000)}"], {}, {}]`));
    expect(bomb.length).toBeLessThan(1024);
    expect(() => decodeTaskMessage(bomb, { ...properties, headers: { ...properties.headers, compression: 'application/x-gzip' } }, { maxBytes: 1024 })).toThrow(
      /once decompressed/,
    );
  });

  it('keeps the task id of an invalid message so a FAILURE can be stored', () => {
    expect(() => decodeTaskMessage(Buffer.from('[[1], {}]'), { contentType: 'application/json', headers: { task: 't', id: 'abc' } })).toThrow(
      expect.objectContaining({ taskId: 'abc', taskName: 't' }),
    );
  });
});

describe('Celery dates', () => {
  it('formats like Python isoformat with six fraction digits and +00:00', () => {
    expect(formatCeleryDate(new Date('2026-11-24T08:34:42.672Z'))).toBe('2026-11-24T08:34:42.672000+00:00');
    expect(formatCeleryDate(new Date('2026-11-24T08:34:42.000Z'))).toBe('2026-11-24T08:34:42+00:00');
  });

  it.each([
    ['2026-11-24T08:34:42.672159+00:00', '2026-11-24T08:34:42.672Z'],
    ['2026-11-24T08:34:42.672159', '2026-11-24T08:34:42.672Z'],
    ['2026-11-24T08:37:28.000Z', '2026-11-24T08:37:28.000Z'],
    ['2026-11-24 10:34:42+02:00', '2026-11-24T08:34:42.000Z'],
    ['2026-11-24T03:34:42-0500', '2026-11-24T08:34:42.000Z'],
    ['2026-11-24T08:34', '2026-11-24T08:34:00.000Z'],
    ['0099-03-01T00:00:00', '0099-03-01T00:00:00.000Z'],
    ['2024-02-29T23:59:59.5-01:00', '2024-03-01T00:59:59.500Z'],
    // A fraction of .9995 s or more stays in its second (Python's eta in a CI run; rounding refused it).
    ['2026-12-07T23:19:32.999951+00:00', '2026-12-07T23:19:32.999Z'],
    ['2026-12-31T23:59:59.9999999', '2026-12-31T23:59:59.999Z'],
  ])('parses %s', (text, iso) => {
    expect(parseCeleryDate(text)?.toISOString()).toBe(iso);
  });

  it.each(['tomorrow', '2026-13-01T00:00:00', '', '2026-11-24', '2026-02-30T00:00:00', '2026-01-00T00:00:00', '0000-01-01T00:00:00', '2026-01-01T00:00:60'])('rejects %j', (text) => {
    expect(parseCeleryDate(text)).toBeNull();
  });
});
