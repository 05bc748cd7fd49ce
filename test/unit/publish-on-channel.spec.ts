import { createRequire } from 'node:module';
import type { ConfirmChannel } from 'amqplib';
import type { OutgoingMessage } from '../../lib/broker/broker.interface';
import { toPublishOptions } from '../../lib/broker/amqp/message-properties';
import { publishOnConfirmChannel, toPublishFields } from '../../lib/broker/amqp/publish-on-channel';

// amqplib's own encoders and argument builder, which its package exports do not list.
const amqplibRequire = createRequire(require.resolve('amqplib'));
const defs = amqplibRequire('./lib/defs.js') as {
  BasicPublish: number;
  BasicProperties: number;
  encodeMethod(method: number, channel: number, fields: object): Buffer;
  encodeProperties(properties: number, channel: number, size: number, fields: object): Buffer;
};
const { publish: argsPublish } = amqplibRequire('./lib/api_args.js') as { publish(exchange: string, routingKey: string, options: object): object };

function message(overrides: Partial<OutgoingMessage> = {}, properties: OutgoingMessage['properties'] = {}): OutgoingMessage {
  return {
    exchange: '',
    routingKey: 'celery',
    body: Buffer.from('[[], {}, {"callbacks": null, "errbacks": null, "chain": null, "chord": null}]'),
    properties: {
      contentType: 'application/json',
      contentEncoding: 'utf-8',
      deliveryMode: 2,
      correlationId: 'c0ffee00-0000-4000-8000-000000000001',
      replyTo: 'c0ffee00-0000-4000-8000-000000000002',
      headers: {
        lang: 'js',
        task: 'proj.add',
        id: 'c0ffee00-0000-4000-8000-000000000001',
        shadow: null,
        eta: null,
        retries: 0,
        timelimit: [null, 30],
        argsrepr: '()',
        clock: 200,
        nested: { big: 70_000, list: [1, -5, 'é'] },
        skipped: undefined,
        ignore_result: false,
      },
      ...properties,
    },
    ...overrides,
  };
}

/** The frames amqplib writes for basic.publish and its content header, from the given fields. */
function frames(fields: object, bodySize: number): Buffer {
  return Buffer.concat([defs.encodeMethod(defs.BasicPublish, 1, fields), defs.encodeProperties(defs.BasicProperties, 1, bodySize, fields)]);
}

describe('publishing on a confirm channel without amqplib wrapping the headers', () => {
  const cases: [string, OutgoingMessage][] = [
    ['a task message with integers py-amqp needs typed', message()],
    ['a message without headers', message({}, { headers: undefined })],
    ['not mandatory, with priority and expiration', message({ mandatory: false, exchange: 'celeryev', routingKey: 'task.sent' }, { priority: 7, expiration: '1500' })],
    ['a non-persistent message with no properties set', { exchange: 'x', routingKey: 'k', body: Buffer.alloc(0), properties: {} }],
  ];

  it.each(cases)('writes the same frames as channel.publish(): %s', (_name, outgoing) => {
    const expected = frames(argsPublish(outgoing.exchange, outgoing.routingKey, toPublishOptions(outgoing)), outgoing.body.length);
    expect(frames(toPublishFields(outgoing), outgoing.body.length).equals(expected)).toBe(true);
  });

  it('sends the frames, then takes the confirm slot, and returns whether amqplib can take more', () => {
    const calls: string[] = [];
    const onConfirm = () => undefined;
    const channel = {
      sendMessage: (fields: { headers: unknown }, properties: object, content: Buffer) => {
        calls.push('sendMessage');
        expect(fields).toBe(properties);
        expect(fields.headers).toBe(outgoing.properties.headers);
        expect(content).toBe(outgoing.body);
        return false;
      },
      pushConfirmCallback: (callback: unknown) => {
        calls.push('pushConfirmCallback');
        expect(callback).toBe(onConfirm);
      },
      publish: () => {
        throw new Error('the public path should not be taken');
      },
    };
    const outgoing = message({}, { headers: { lang: 'js', retries: 0 } });
    expect(publishOnConfirmChannel(channel as unknown as ConfirmChannel, outgoing, onConfirm)).toBe(false);
    expect(calls).toEqual(['sendMessage', 'pushConfirmCallback']);
  });

  it('takes no confirm slot when amqplib refuses the message', () => {
    const pushConfirmCallback = jest.fn();
    const channel = {
      sendMessage: () => {
        throw new RangeError('Encoded field table (headers or arguments) exceeds the 131072 byte encoding buffer');
      },
      pushConfirmCallback,
    };
    expect(() => publishOnConfirmChannel(channel as unknown as ConfirmChannel, message(), () => undefined)).toThrow(RangeError);
    expect(pushConfirmCallback).not.toHaveBeenCalled();
  });

  it('finds the internals it uses in the installed amqplib (else every publish takes the slower public path)', () => {
    const { ConfirmChannel } = amqplibRequire('./lib/channel_model.js') as { ConfirmChannel: { prototype: Record<string, unknown> } };
    expect(typeof ConfirmChannel.prototype.sendMessage).toBe('function');
    expect(typeof ConfirmChannel.prototype.pushConfirmCallback).toBe('function');
  });

  it("falls back to channel.publish when amqplib's internals are not the expected ones", () => {
    const outgoing = message();
    const onConfirm = () => undefined;
    const publish = jest.fn(() => true);
    expect(publishOnConfirmChannel({ publish } as unknown as ConfirmChannel, outgoing, onConfirm)).toBe(true);
    expect(publish).toHaveBeenCalledWith(outgoing.exchange, outgoing.routingKey, outgoing.body, toPublishOptions(outgoing), onConfirm);
  });
});
