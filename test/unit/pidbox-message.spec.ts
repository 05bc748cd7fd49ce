import { decodeControlReply, decodeControlRequest, encodeControlReply, encodeControlRequest } from '../../lib/control/control-message';
import { isAddressedTo } from '../../lib/control/node-address';
import { clientReplyQueueDeclaration, nodeQueueDeclaration, PIDBOX_EXCHANGE } from '../../lib/control/pidbox-topology';
import { queueInfo } from '../../lib/remote-control/queue-info';
import { requireArguments } from '../../lib/remote-control/control-command';
import { brokerConnectionInfo } from '../../lib/remote-control/broker-connection-info';
import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { ControlCommandError } from '../../lib/errors/control-command.error';
import { LamportClock } from '../../lib/protocol/lamport-clock';
import { CapturedMessage, capturedBody, capturedProperties, loadFixture } from '../support/fixtures';

const COMMANDS = ['ping', 'registered', 'active', 'reserved', 'scheduled', 'revoked', 'query_task', 'stats', 'active_queues', 'conf', 'rate_limit', 'revoke', 'shutdown', 'hello'];

interface Pair {
  request: CapturedMessage;
  replies?: CapturedMessage[];
}

/** Every request/reply pair Celery 5.2.6 exchanged in the captures. */
function capturedPairs(): [string, Pair][] {
  return COMMANDS.flatMap((command) => loadFixture(`worker_pidbox_${command}`).pairs.map((pair: Pair, index: number): [string, Pair] => [`${command} #${index + 1}`, pair]));
}

interface RawCase {
  request_body: Record<string, unknown>;
  replies: CapturedMessage[];
}

const raw: Record<string, RawCase> = loadFixture('compat_pidbox_raw').cases;

describe('the pidbox request', () => {
  it.each(capturedPairs())('is encoded byte for byte as Celery 5.2.6 sent it (%s)', (_name, { request }) => {
    const body = request.body as Record<string, any>;
    const message = encodeControlRequest(
      {
        method: body.method,
        arguments: body.arguments,
        destination: body.destination,
        pattern: body.pattern,
        matcher: body.matcher,
        ticket: body.ticket ?? null,
        replyTo: body.reply_to ? { exchange: body.reply_to.exchange, routingKey: body.reply_to.routing_key } : null,
      },
      request.headers as { clock: number; expires: number },
    );
    expect(message.body.toString('utf8')).toBe(request.body_raw);
    expect(message).toMatchObject({ exchange: request.exchange, routingKey: request.routing_key, mandatory: false });
    expect(message.properties).toEqual({
      contentType: request.properties.content_type,
      contentEncoding: request.properties.content_encoding,
      deliveryMode: request.properties.delivery_mode,
      priority: request.properties.priority,
      headers: request.headers,
    });
  });

  it.each(capturedPairs())('is decoded as a 5.2.6 worker reads it (%s)', (_name, { request }) => {
    const body = request.body as Record<string, any>;
    const decoded = decodeControlRequest(capturedBody(request), capturedProperties(request));
    expect(decoded).toEqual({
      ok: true,
      clock: (request.headers as { clock: number }).clock,
      request: {
        method: body.method,
        arguments: body.arguments,
        destination: body.destination,
        pattern: null,
        matcher: null,
        ticket: body.ticket ?? null,
        replyTo: body.reply_to ? { exchange: 'reply.celery.pidbox', routingKey: body.reply_to.routing_key } : null,
      },
    });
  });

  it('reads a hand-built request with only method, ticket and reply_to, and no headers (compat minimal_ping_no_headers)', () => {
    const decoded = decodeControlRequest(Buffer.from(JSON.stringify(raw.minimal_ping_no_headers.request_body)), { contentType: 'application/json' });
    expect(decoded).toEqual({
      ok: true,
      clock: 0,
      request: {
        method: 'ping',
        arguments: {},
        destination: null,
        pattern: null,
        matcher: null,
        ticket: 'f499cc1e-3999-4b9c-8f76-b6ff528b2dc4',
        replyTo: { exchange: 'reply.celery.pidbox', routingKey: 'ts-client-1' },
      },
    });
  });

  it('refuses, with the reason, what a 5.2.6 worker cannot read either', () => {
    const decode = (text: string, contentType = 'application/json') => decodeControlRequest(Buffer.from(text), { contentType });
    expect(decode('{"method": "ping"', 'application/json')).toMatchObject({ ok: false, reason: expect.stringContaining('not valid JSON') });
    expect(decode('{"arguments": {}}')).toMatchObject({ ok: false, reason: expect.stringContaining('"method"') });
    expect(decode('{"method": "ping", "destination": 5}')).toMatchObject({ ok: false, reason: expect.stringContaining('destination') });
    expect(decode('{"method": "ping", "reply_to": "q"}')).toMatchObject({ ok: false, reason: expect.stringContaining('reply_to') });
    expect(decode('{"method": "ping"}', 'application/x-python-serialize')).toMatchObject({ ok: false, reason: expect.stringContaining('pickle') });
  });
});

describe('the pidbox reply', () => {
  const replies = capturedPairs().flatMap(([name, pair]) => (pair.replies ?? []).map((reply): [string, CapturedMessage] => [name, reply]));

  // Python's float 120.0 in stats.broker.heartbeat is written "120.0"; a JS number cannot say it is a float.
  const exact = replies.filter(([name]) => !name.startsWith('stats'));

  it.each(exact)('is encoded byte for byte as the 5.2.6 worker sent it (%s)', (_name, reply) => {
    const [[nodename, value]] = Object.entries(reply.body as Record<string, unknown>);
    const headers = reply.headers as { ticket: string; clock: number };
    const message = encodeControlReply(nodename, value, { ticket: headers.ticket, replyTo: { exchange: reply.exchange, routingKey: reply.routing_key } }, headers.clock);
    expect(message.body.toString('utf8')).toBe(reply.body_raw);
    expect(message).toMatchObject({ exchange: reply.exchange, routingKey: reply.routing_key, mandatory: false });
    expect(message.properties).toEqual({
      contentType: reply.properties.content_type,
      contentEncoding: reply.properties.content_encoding,
      deliveryMode: reply.properties.delivery_mode,
      priority: reply.properties.priority,
      headers: reply.headers,
    });
  });

  it('encodes stats with the same values (a whole float such as 120.0 is written 120)', () => {
    const [, reply] = replies.find(([name]) => name.startsWith('stats'))!;
    const [[nodename, value]] = Object.entries(reply.body as Record<string, unknown>);
    const message = encodeControlReply(nodename, value, { ticket: 't', replyTo: { exchange: reply.exchange, routingKey: reply.routing_key } }, 1);
    expect(JSON.parse(message.body.toString('utf8'))).toEqual(JSON.parse(reply.body_raw!));
  });

  it.each(Object.entries(raw).flatMap(([name, rawCase]) => rawCase.replies.map((reply): [string, CapturedMessage] => [name, reply])))(
    'encodes the errors and texts a 5.2.6 worker answered to hand-built requests (%s)',
    (_name, reply) => {
      const [[nodename, value]] = Object.entries(reply.body as Record<string, unknown>);
      const headers = reply.headers as { ticket: string; clock: number };
      expect(encodeControlReply(nodename, value, { ticket: headers.ticket, replyTo: { exchange: reply.exchange, routingKey: reply.routing_key } }, headers.clock).body.toString('utf8')).toBe(
        reply.body_raw,
      );
    },
  );

  it.each(replies)('is decoded as kombu collects it, matched by its ticket (%s)', (_name, reply) => {
    const headers = reply.headers as { ticket: string; clock: number };
    expect(decodeControlReply(capturedBody(reply), capturedProperties(reply))).toEqual({ ok: true, ticket: headers.ticket, clock: headers.clock, body: reply.body });
  });
});

describe('which node a request is for', () => {
  it('follows kombu: destination, else pattern with matcher, else everyone (compat ping_destination_other_node, ping_pattern_glob)', () => {
    const node = 'pidboxraw@vm';
    expect(isAddressedTo({ destination: null, pattern: null, matcher: null }, node)).toBe(true);
    expect(isAddressedTo({ destination: ['nobody@nowhere'], pattern: null, matcher: null }, node)).toBe(false);
    expect(isAddressedTo({ destination: [node], pattern: null, matcher: null }, node)).toBe(true);
    expect(isAddressedTo({ destination: null, pattern: 'pidbox*', matcher: 'glob' }, node)).toBe(true);
    expect(isAddressedTo({ destination: null, pattern: 'other*', matcher: 'glob' }, node)).toBe(false);
    expect(isAddressedTo({ destination: [], pattern: 'pidbox*', matcher: 'glob' }, node)).toBe(true);
    expect(isAddressedTo({ destination: null, pattern: 'pid.+@', matcher: 'pcre' }, node)).toBe(true); // re.match: anchored at the start only
    expect(isAddressedTo({ destination: null, pattern: 'raw@vm', matcher: 'pcre' }, node)).toBe(false);
    expect(isAddressedTo({ destination: null, pattern: '(', matcher: 'pcre' }, node)).toBe(false);
    expect(isAddressedTo({ destination: null, pattern: '*', matcher: 'unknown' }, node)).toBe(false);
  });
});

describe('pidbox topology', () => {
  it('declares the mailbox and the reply queue as Celery 5.2.6 does (celery-protocol.md §1.4 row 2, §9.2)', () => {
    expect(PIDBOX_EXCHANGE).toEqual({ name: 'celery.pidbox', type: 'fanout', durable: false, autoDelete: false });
    expect(nodeQueueDeclaration('capture-rpc@vm')).toEqual({
      name: 'capture-rpc@vm.celery.pidbox',
      durable: false,
      exclusive: false,
      autoDelete: true,
      arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
      exchange: PIDBOX_EXCHANGE,
      routingKey: '',
    });
    expect(clientReplyQueueDeclaration('cab91b94-6a81-376d-8257-1ef418850992')).toEqual({
      name: 'cab91b94-6a81-376d-8257-1ef418850992.reply.celery.pidbox',
      durable: false,
      exclusive: false,
      autoDelete: true,
      arguments: { 'x-expires': 10_000, 'x-message-ttl': 300_000 },
      exchange: { name: 'reply.celery.pidbox', type: 'direct', durable: false, autoDelete: false },
      routingKey: 'cab91b94-6a81-376d-8257-1ef418850992',
    });
  });
});

describe('reply values', () => {
  it("describe a task queue as kombu's Queue.as_dict() (Fx worker_pidbox_active_queues)", () => {
    const captured = loadFixture('worker_pidbox_active_queues').pairs[0].replies[0].body['capture-rpc@vm'][0];
    expect(JSON.stringify(queueInfo(celeryTaskQueue('celery')))).toBe(JSON.stringify(captured));
    expect(queueInfo(celeryTaskQueue('q', { maxPriority: 10, messageTtl: 60, deadLetterExchange: 'dlx' }))).toMatchObject({
      max_priority: 10,
      message_ttl: 60,
      queue_arguments: { 'x-dead-letter-exchange': 'dlx' },
    });
  });

  it('describe the broker as kombu does in stats, without the password (Fx worker_pidbox_stats)', () => {
    const captured = loadFixture('worker_pidbox_stats').pairs[0].replies[0].body['capture-rpc@vm'].broker;
    const info = brokerConnectionInfo({ url: 'amqp://guest:secret@127.0.0.1:5672/celery-proto-capture', heartbeatSeconds: 120, connectTimeoutMs: 4000 });
    expect(info).toEqual(captured);
    expect(JSON.stringify(info)).not.toContain('secret');
    expect(brokerConnectionInfo({ url: 'amqps://u:p@rabbit.example//' })).toMatchObject({ hostname: 'rabbit.example', userid: 'u', virtual_host: '/', port: 5671, ssl: true });
    expect(brokerConnectionInfo({})).toMatchObject({ transport: 'memory' });
  });

  it("say what is missing as Python's TypeError does (Fx compat_pidbox_raw bad_arguments)", () => {
    const expected = raw.bad_arguments.replies[0].body as Record<string, { error: string }>;
    const error = (() => {
      try {
        requireArguments('rate_limit', { task_name: 'proto.add' }, ['task_name', 'rate_limit']);
      } catch (caught) {
        return caught as ControlCommandError;
      }
    })();
    expect(error?.repr).toBe(expected['pidboxraw@vm'].error);
    expect(new ControlCommandError('KeyError', 'no_such_command').repr).toBe((raw.unknown_method.replies[0].body as any)['pidboxraw@vm'].error);
    expect(() => requireArguments('terminate', {}, ['signal', 'task_id'])).toThrow("terminate() missing 2 required positional arguments: 'signal' and 'task_id'");
  });
});

describe('LamportClock', () => {
  it("forwards for our own events and moves past a peer's value, as kombu's", () => {
    const clock = new LamportClock();
    expect(clock.forward()).toBe(1);
    expect(clock.adjust(41)).toBe(42);
    expect(clock.adjust(3)).toBe(43);
    expect(clock.value).toBe(43);
  });
});
