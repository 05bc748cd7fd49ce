import { connect, type ChannelModel } from 'amqplib';
import type { Socket } from 'node:net';
import { coalesceSocketWrites } from '../../lib/broker/amqp/coalesce-socket-writes';
import { assertRabbitMqReachable, deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

const MESSAGES = 200;

/** Publishes MESSAGES in one turn on a confirm channel; returns how many socket writes carried them. */
async function socketWritesFor(model: ChannelModel, queue: string): Promise<number> {
  const channel = await model.createConfirmChannel();
  await channel.assertQueue(queue, { autoDelete: true });
  const socket = (model as unknown as { connection: { stream: Socket } }).connection.stream;
  let writes = 0;
  const socketInternals = socket as unknown as { _write: (...args: unknown[]) => void; _writev: (...args: unknown[]) => void };
  const write = socketInternals._write;
  const writev = socketInternals._writev;
  socketInternals._write = function (...args) {
    writes++;
    return write.apply(this, args);
  };
  socketInternals._writev = function (...args) {
    writes++;
    return writev.apply(this, args);
  };
  try {
    for (let index = 0; index < MESSAGES; index++) channel.publish('', queue, Buffer.from(`message ${index}`));
    await channel.waitForConfirms();
  } finally {
    socketInternals._write = write;
    socketInternals._writev = writev;
    await channel.close();
  }
  return writes;
}

describe('coalesceSocketWrites', () => {
  const queue = uniqueName('it-coalesce');
  let model: ChannelModel;

  beforeAll(async () => {
    await assertRabbitMqReachable();
    model = await connect(RABBITMQ_URL, { noDelay: true });
  });

  afterAll(async () => {
    await deleteQueues(queue);
    await model?.close();
  });

  it("recognises the installed amqplib's internals, and sends frames published together in a few socket writes", async () => {
    const before = await socketWritesFor(model, queue);
    expect(coalesceSocketWrites(model)).toBe(true);
    const after = await socketWritesFor(model, queue);
    expect(after).toBeLessThan(10);
    expect(after).toBeLessThan(before);
  });

  it('changes nothing and says so when the internals are not there', () => {
    expect(coalesceSocketWrites({} as ChannelModel)).toBe(false);
  });
});
