import { QueueCatalog } from '../../lib/broker/queue-catalog';
import type { Broker, OutgoingMessage } from '../../lib/broker/broker.interface';
import { DisabledResultBackend } from '../../lib/backend/disabled-result-backend';
import { chain, chord, group } from '../../lib/client/canvas/canvas';
import { CeleryClient } from '../../lib/client/celery-client';
import { loadFixture } from '../support/fixtures';

/** A client whose broker only records what it is asked to publish: the canvas encoding is pure. */
function recordingClient(): { client: CeleryClient; published: OutgoingMessage[] } {
  const published: OutgoingMessage[] = [];
  const broker = { publish: async (message: OutgoingMessage) => void published.push(message), declareQueue: async () => undefined } as unknown as Broker;
  const client = new CeleryClient({ broker, backend: new DisabledResultBackend(), queues: new QueueCatalog({}), defaultQueue: 'celery' });
  return { client, published };
}

describe('canvas on the wire (Celery 5.2.6 captures)', () => {
  it('publishes a chain of 3 as its first task with the rest reversed in embed.chain, byte for byte', async () => {
    const fixture = loadFixture('task_v2_chain_of_3_first_message');
    const { client, published } = recordingClient();
    const replyTo = fixture.message.properties.reply_to;
    const [last, second] = [fixture.last_result_id, fixture.parent_ids[0]];
    const options = (taskId: string) => ({ taskId, replyTo });
    await chain(
      client.signature('proto.add', [1, 2], {}, options(fixture.message.headers.id)),
      client.signature('proto.add', [3], {}, options(second)),
      client.signature('proto.add', [4], {}, options(last)),
    ).applyAsync();
    expect(published).toHaveLength(1);
    expect(published[0].body.toString('utf8')).toBe(fixture.message.body_raw);
    expect(published[0].properties.headers).toMatchObject({ task: 'proto.add', id: fixture.message.headers.id, root_id: fixture.message.headers.id, parent_id: null });
  });

  it('publishes group members with the group header and no group_index', async () => {
    const { client, published } = recordingClient();
    const result = await group([0, 1, 2].map((i) => client.signature('proto.add', [i, i]))).applyAsync();
    expect(published.map((message) => message.properties.headers!.group)).toEqual([result.id, result.id, result.id]);
    expect(published.map((message) => message.properties.headers!.group_index)).toEqual([null, null, null]);
  });

  it('publishes a chord for the database backend as Celery does: celery.chord_unlock first, then the header with embed.chord', async () => {
    const fixture = loadFixture('task_v2_chord_db_backend_with_chord_unlock');
    const { client, published } = recordingClient();
    const replyTo = fixture.messages[1].properties.reply_to;
    const headerIds = fixture.messages.slice(1).map((message: { headers: { id: string } }) => message.headers.id);
    await chord(
      [client.signature('proto.add', [1, 1], {}, { taskId: headerIds[0], replyTo }), client.signature('proto.add', [2, 2], {}, { taskId: headerIds[1], replyTo })],
      client.signature('proto.tsum', [], {}, { taskId: fixture.body_task_id, replyTo }),
    ).applyAsync([], {}, { chordJoin: 'chord_unlock' });
    const [unlock, ...header] = published;
    const expectedUnlock = JSON.parse(fixture.messages[0].body_raw);
    const actualUnlock = JSON.parse(unlock.body.toString('utf8'));
    expect(unlock.properties.headers).toMatchObject({ task: 'celery.chord_unlock', ignore_result: true });
    expect(actualUnlock[0][1]).toEqual(expectedUnlock[0][1]);
    expect(actualUnlock[1]).toEqual({ ...expectedUnlock[1], result: headerIds.map((id: string) => [[id, null], null]) });
    expect(header.map((message) => message.properties.headers!.group_index)).toEqual([0, 1]);
    expect(header[0].body.toString('utf8')).toBe(fixture.messages[1].body_raw);
  });
});
