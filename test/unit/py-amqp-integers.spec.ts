import { withPyAmqpIntegerTypes } from '../../lib/broker/amqp/py-amqp-integers';

describe('header integers for py-amqp', () => {
  it('types every integer amqplib would send as a byte py-amqp reads unsigned, or a short it reads as a string', () => {
    const date = new Date(0);
    const buffer = Buffer.from('x');
    expect(
      withPyAmqpIntegerTypes({
        clock: 200,
        retries: 0,
        small: 127,
        negative: -1,
        wide: 70_000,
        huge: 2 ** 40,
        ratio: 1.5,
        timelimit: [300, null],
        nested: { count: 40_000, name: 'n' },
        date,
        buffer,
        forced: { '!': 'short', value: 1000 },
      }),
    ).toEqual({
      clock: { '!': 'int', value: 200 },
      retries: 0,
      small: 127,
      negative: { '!': 'int', value: -1 },
      wide: { '!': 'int', value: 70_000 },
      huge: { '!': 'long', value: 2 ** 40 },
      ratio: 1.5,
      timelimit: [{ '!': 'int', value: 300 }, null],
      nested: { count: { '!': 'int', value: 40_000 }, name: 'n' },
      date,
      buffer,
      forced: { '!': 'short', value: 1000 },
    });
  });

  it('hands back the very same object when no integer needs a type (the usual task message): nothing copied', () => {
    const headers = { lang: 'py', task: 'tasks.add', retries: 0, timelimit: [null, null], group_index: null };
    expect(withPyAmqpIntegerTypes(headers)).toBe(headers);
    expect(withPyAmqpIntegerTypes(undefined)).toBeUndefined();
  });
});
