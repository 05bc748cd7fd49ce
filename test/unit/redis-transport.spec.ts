import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { decodeRedisResultMeta, decodeSavedGroup, encodeChordPart, encodeRedisResultMeta, encodeSavedGroup } from '../../lib/backend/redis/redis-result-meta';
import { encodeKombuEnvelope, envelopeBody, envelopeProperties, markRedelivered, parseKombuEnvelope, serializeKombuEnvelope } from '../../lib/broker/kombu-envelope';
import { bindingFor, routeThroughBindings } from '../../lib/broker/redis/kombu-exchange-routing';
import {
  brpopLists,
  decodeBinding,
  encodeBinding,
  exchangeOfFanoutChannel,
  fanoutChannel,
  priorityBand,
  priorityList,
  queueOfList,
  topicBindingPattern,
} from '../../lib/broker/redis/kombu-redis-keys';
import { parseRedisUrl } from '../../lib/broker/redis/redis-url';
import { formatNaiveUtc, parseCeleryDate } from '../../lib/protocol/celery-time';
import { InvalidRedisUrlError } from '../../lib/errors/invalid-redis-url.error';
import { loadFixture } from '../support/fixtures';

/** Captured from kombu 5.2.4 / Celery 5.2.6 by test/fixtures/redis/capture_kombu_redis.py. */
const kombu = JSON.parse(readFileSync(join(__dirname, '..', 'fixtures', 'redis', 'kombu-redis-5.2.4.json'), 'utf8'));
const taskLists = Object.entries(kombu.task_lists as Record<string, string[]>);

describe("kombu's Redis transport, against what kombu 5.2.4 wrote", () => {
  it.each(taskLists)('reads a task message from list %j and writes the same bytes back', (list, [raw]) => {
    const envelope = parseKombuEnvelope(raw);
    const body = envelopeBody(envelope);
    expect(JSON.parse(body.toString('utf8'))[0]).toEqual([2, 3]);
    const properties = envelopeProperties(envelope);
    expect(properties).toMatchObject({ contentType: 'application/json', contentEncoding: 'utf-8', deliveryMode: 2, headers: { task: 'tasks.add', lang: 'py' } });
    const info = envelope.properties.delivery_info;
    const rewritten = encodeKombuEnvelope({ exchange: info.exchange, routingKey: info.routing_key, body, properties }, envelope.properties.delivery_tag);
    expect(serializeKombuEnvelope(rewritten)).toBe(raw);
    // The list it went to: kombu's band for its priority, named queue SEP band.
    expect(priorityList(info.routing_key, priorityBand(properties.priority))).toBe(list);
    expect(queueOfList(list)).toBe(info.routing_key);
  });

  it('puts priorities in kombu bands: 0–2 → 0, 3–5 → 3, 6–8 → 6, 9 and above → 9', () => {
    expect([0, 2, 3, 5, 6, 8, 9, 200, -1, undefined].map((p) => priorityBand(p))).toEqual([0, 0, 3, 3, 6, 6, 9, 9, 0, 0]);
  });

  it('reads several queues band by band, as kombu orders BRPOP keys (a priority-0 message of any queue first)', () => {
    const sep = '\x06\x16';
    expect(brpopLists(['a', 'b'])).toEqual(['a', 'b', `a${sep}3`, `b${sep}3`, `a${sep}6`, `b${sep}6`, `a${sep}9`, `b${sep}9`]);
  });

  it('stores bindings as kombu does, with its regular expression for topic keys', () => {
    const [member] = kombu.task_binding.members as string[];
    const queue = decodeBinding(member).queue;
    expect(encodeBinding(bindingFor('direct', queue, queue))).toBe(member);
    const [topicMember] = kombu.topic_binding.members as string[];
    const topicQueue = decodeBinding(topicMember).queue;
    expect(topicBindingPattern(kombu.topic_binding.routing_key)).toBe(decodeBinding(topicMember).pattern);
    expect(encodeBinding(bindingFor('topic', kombu.topic_binding.routing_key, topicQueue))).toBe(topicMember);
    const bindings = [decodeBinding(topicMember)];
    expect(routeThroughBindings('topic', bindings, 'a.x.b-c_d.y.z')).toEqual([topicQueue]);
    // kombu's oddity, kept for agreement with Python publishers: its `*` may span several words.
    expect(routeThroughBindings('topic', bindings, 'a.x.y.b-c_d.z')).toEqual([topicQueue]);
    expect(routeThroughBindings('topic', bindings, 'b.x.b-c_d.z')).toEqual([]);
    expect(routeThroughBindings('direct', [decodeBinding(member)], queue)).toEqual([queue]);
    expect(routeThroughBindings('direct', [decodeBinding(member)], 'other')).toEqual([]);
  });

  it("names fanout channels as kombu does (`/{db}.exchange`), and reads a Python broadcast", () => {
    const { channel, data } = kombu.pidbox_broadcast;
    expect(fanoutChannel(8, 'celery.pidbox', '')).toBe(channel);
    expect(fanoutChannel(8, 'celeryev', 'task.multi')).toBe('/8.celeryev/task.multi');
    expect(exchangeOfFanoutChannel(channel)).toBe('celery.pidbox');
    expect(exchangeOfFanoutChannel('/8.celeryev/worker.heartbeat')).toBe('celeryev');
    const envelope = parseKombuEnvelope(data);
    expect(JSON.parse(envelopeBody(envelope).toString('utf8'))).toMatchObject({ method: 'ping', destination: ['nobody@nowhere'] });
  });

  it("records an unacked message in kombu's format: [envelope, exchange, routing_key]", () => {
    const { entry } = kombu.unacked_entry;
    const [raw] = Object.values(kombu.task_lists as Record<string, string[]>).find(([text]) => text.includes(kombu.unacked_entry.tag))!;
    const envelope = parseKombuEnvelope(raw);
    expect(`[${raw}, ${JSON.stringify(envelope.properties.delivery_info.exchange)}, ${JSON.stringify(envelope.properties.delivery_info.routing_key)}]`).toBe(entry);
    const restored = markRedelivered(envelope);
    expect(restored.properties.delivery_info.redelivered).toBe(true);
    expect(restored.headers).toMatchObject({ redelivered: true });
  });
});

describe('Redis URLs', () => {
  it('reads host, port, db and credentials, and masks the password', () => {
    const url = parseRedisUrl('redis://user:s%40cret@cache.local:6380/5?visibility_timeout=30');
    expect(url.connection).toMatchObject({ host: 'cache.local', port: 6380, db: 5, username: 'user', password: 's@cret' });
    expect(url.db).toBe(5);
    expect(url.visibilityTimeoutSeconds).toBe(30);
    expect(url.description).toBe('redis://user:***@cache.local:6380/5?visibility_timeout=30');
    expect(parseRedisUrl('redis://:pw@localhost').connection).toMatchObject({ host: 'localhost', port: 6379, db: 0, password: 'pw' });
  });

  it('uses TLS for rediss://, verifying the certificate unless ssl_cert_reqs says otherwise', () => {
    expect(parseRedisUrl('rediss://host/0').connection.tls).toMatchObject({ rejectUnauthorized: true });
    expect(parseRedisUrl('rediss://host/0?ssl_cert_reqs=CERT_NONE').connection.tls).toMatchObject({ rejectUnauthorized: false });
    expect(parseRedisUrl('redis://host/0').connection.tls).toBeUndefined();
  });

  it("reads Celery's sentinel:// form: every Sentinel, the master's name, password and db", () => {
    const url = parseRedisUrl('sentinel://:hunter2@s1:26379/3;sentinel://:hunter2@s2:26380/3?master_name=main');
    expect(url.connection).toMatchObject({ sentinels: [{ host: 's1', port: 26379 }, { host: 's2', port: 26380 }], name: 'main', db: 3, password: 'hunter2' });
    expect(url.db).toBe(3);
    expect(url.description).toBe('sentinel://:***@s1:26379/3;sentinel://:***@s2:26380/3?master_name=main');
  });

  it.each(['sentinel://:hunter2@s1:26379/0', 'redis://:hunter2@host/abc', 'rediss://:hunter2@host/0?ssl_cert_reqs=maybe', 'redis://:hunter2@host/0?visibility_timeout=0'])('refuses %s without showing the password', (text) => {
    const error = (() => {
      try {
        parseRedisUrl(text);
      } catch (caught) {
        return caught as Error;
      }
    })();
    expect(error).toBeInstanceOf(InvalidRedisUrlError);
    expect(error!.message).not.toContain('hunter2');
  });
});

/** Every result value Celery 5.2.6 wrote to Redis in the shared captures, with its key. */
function capturedResultValues(): [string, string][] {
  const found: [string, string][] = [];
  const walk = (node: unknown) => {
    if (Array.isArray(node)) return node.forEach(walk);
    if (typeof node !== 'object' || node === null) return;
    const record = node as Record<string, unknown>;
    const key = (record.key ?? record.channel) as unknown;
    const value = (record.value ?? record.data) as unknown;
    if (typeof key === 'string' && key.startsWith('celery-task-meta-') && typeof value === 'string') found.push([key, value]);
    Object.values(record).forEach(walk);
  };
  for (const name of ['redis_result_success', 'redis_result_failure', 'redis_result_failure_custom_exception', 'redis_result_states_started_retry_revoked', 'redis_chord_keys_after_completion']) {
    walk(loadFixture(name));
  }
  return found;
}

describe("Celery's Redis result values", () => {
  const values = capturedResultValues();

  it('finds the captures', () => {
    expect(values.length).toBeGreaterThan(10);
  });

  it.each(values)('reads %s and writes it back byte for byte', (key, value) => {
    const taskId = key.slice('celery-task-meta-'.length);
    const meta = decodeRedisResultMeta(taskId, value);
    expect(meta.taskId).toBe(taskId);
    // Byte for byte but for date_done's last three digits: a JS Date holds milliseconds, not microseconds.
    const atMilliseconds = value.replace(/"date_done": "([^"]+)"/, (_match, date: string) => `"date_done": "${formatNaiveUtc(parseCeleryDate(date)!)}"`);
    expect(encodeRedisResultMeta(meta, false)).toBe(atMilliseconds);
  });

  it('writes a saved group as GroupResult.save() does', () => {
    const fixture = loadFixture('redis_group_saved');
    expect(encodeSavedGroup(fixture.group_id, fixture.child_ids)).toBe(fixture.key.value);
    expect(decodeSavedGroup(fixture.key.value)).toEqual(fixture.child_ids);
  });

  it("writes chord parts as on_chord_part_return: [1, id, state, result], exceptions as Celery's dict", () => {
    expect(encodeChordPart({ taskId: 'a', status: 'SUCCESS', result: 2 })).toBe('[1, "a", "SUCCESS", 2]');
    expect(encodeChordPart({ taskId: 'b', status: 'FAILURE', result: { exc_module: 'builtins', exc_message: ['x'], exc_type: 'ValueError' } })).toBe(
      '[1, "b", "FAILURE", {"exc_type": "ValueError", "exc_message": ["x"], "exc_module": "builtins"}]',
    );
  });
});
