import { INestApplicationContext, Injectable } from '@nestjs/common';
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { connect, type Channel, type ChannelModel, type GetMessage } from 'amqplib';
import { CeleryClient, CeleryTask, PythonException, ResultTimeoutError, TaskFailedError, TaskState } from '../../lib';
import { CELERY_RESULT_BACKEND, ResultBackend } from '../../lib/advanced';
import { RpcResultBackend } from '../../lib/backend/rpc/rpc-result-backend';
import { eventually, startCeleryApp } from '../support/celery-app';
import { loadFixture } from '../support/fixtures';
import { deleteExchanges, deleteQueues, forceCloseConnection, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';


@Injectable()
class RpcTasks {
  ignoredRuns = 0;
  /** Held by the test so the STARTED state can be seen before the task ends. */
  gate = Promise.resolve();
  openGate = () => undefined as void;

  closeGate(): void {
    this.gate = new Promise((resolve) => (this.openGate = resolve));
  }

  @CeleryTask({ name: 'it.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'it.echo' })
  echo(value: unknown): unknown {
    return value;
  }

  @CeleryTask({ name: 'it.fail' })
  fail(message: string): never {
    // Python's ValueError by name, stored exactly as a Python worker stores it (no exc_js_type).
    throw new PythonException('ValueError', message);
  }

  @CeleryTask({ name: 'it.unstorable' })
  unstorable(): unknown {
    return Symbol('not JSON');
  }

  @CeleryTask({ name: 'it.ignored', ignoreResult: true })
  ignored(): string {
    this.ignoredRuns += 1;
    return 'nobody hears this';
  }

  @CeleryTask({ name: 'it.tracked', trackStarted: true })
  async tracked(): Promise<string> {
    await this.gate;
    return 'done';
  }
}

/** `rabbitmqctl list_<what>` rows whose first column is `name`. */
function rabbitmqRows(what: 'queues' | 'consumers', columns: string[], name: string): string[][] {
  const out = execFileSync('rabbitmqctl', ['-q', '--no-table-headers', `list_${what}`, ...columns], { encoding: 'utf8' });
  return out
    .split('\n')
    .map((line) => line.split('\t'))
    .filter((row) => row[0] === name);
}

/** A protocol v2 task message as Python Celery 5.2.6 sends it (Fx task_v2_delay_minimal), with our own reply_to. */
function publishPythonShapedTask(channel: Channel, queue: string, task: string, args: unknown[], replyTo: string): string {
  const captured = loadFixture('task_v2_delay_minimal').message;
  const id = randomUUID();
  const headers = { ...captured.headers, task, id, root_id: id, argsrepr: JSON.stringify(args) };
  const body = JSON.stringify([args, {}, { callbacks: null, errbacks: null, chain: null, chord: null }]);
  channel.publish('', queue, Buffer.from(body), {
    contentType: captured.properties.content_type,
    contentEncoding: captured.properties.content_encoding,
    deliveryMode: captured.properties.delivery_mode,
    priority: captured.properties.priority,
    correlationId: id,
    replyTo,
    headers,
  });
  return id;
}

describe('rpc:// result backend on RabbitMQ', () => {
  const queue = uniqueName('it-rpc');
  const connectionName = uniqueName('it-rpc-producer');
  let worker: INestApplicationContext;
  let producer: INestApplicationContext;
  let workerClient: CeleryClient;
  let producerClient: CeleryClient;

  beforeAll(async () => {
    worker = await startCeleryApp({ broker: RABBITMQ_URL, backend: 'rpc://', defaultQueue: queue, worker: { hostname: 'rpcworker@%h' } }, [RpcTasks]);
    producer = await startCeleryApp({ broker: { url: RABBITMQ_URL, connectionName, reconnectDelayMs: 200 }, backend: 'rpc://', defaultQueue: queue, worker: false });
    workerClient = worker.get(CeleryClient);
    producerClient = producer.get(CeleryClient);
  });

  afterAll(async () => {
    await producer?.close();
    await worker?.close();
    await deleteQueues(queue);
    await deleteExchanges(queue);
  });

  const backendOf = (app: INestApplicationContext) => app.get<ResultBackend>(CELERY_RESULT_BACKEND);

  it('runs tasks and returns their values through the reply queue', async () => {
    expect(backendOf(producer)).toBeInstanceOf(RpcResultBackend);
    expect(await (await producerClient.send('it.add', [2, 3])).get({ timeout: 10_000 })).toBe(5);
    const value = { text: 'héllo ✓', list: [1, 2.5, null, true], nested: { big: 2n ** 70n } };
    expect(await (await producerClient.send('it.echo', [value])).get({ timeout: 10_000 })).toEqual(value);
  });

  it('declares the reply queue as Python does (non-durable, auto-delete, x-expires one day) and consumes it', () => {
    const replyQueue = backendOf(producer).replyQueue!;
    expect(producerClient.replyTo).toBe(replyQueue);
    // Python's: c4ced8d9-… false true false [{"x-expires",86400000}] (Fx rpc_worker_topology_after_client_activity)
    expect(rabbitmqRows('queues', ['name', 'durable', 'auto_delete', 'exclusive', 'arguments'], replyQueue)).toEqual([
      [replyQueue, 'false', 'true', 'false', '[{"x-expires",86400000}]'],
    ]);
    expect(rabbitmqRows('consumers', ['queue_name', 'prefetch_count'], replyQueue)).toEqual([[replyQueue, '0']]);
  });

  it('turns FAILURE into TaskFailedError with the type and message', async () => {
    const result = await producerClient.send('it.fail', ['boom']);
    const error = await result.get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ state: 'FAILURE', excType: 'ValueError', excModule: 'builtins', excMessage: ['boom'] });
    expect((error as TaskFailedError).traceback).toContain("ValueError('boom')");
  });

  it('stores a value with no JSON form as FAILURE EncodeError, as Celery does', async () => {
    const error = await (await producerClient.send('it.unstorable')).get({ timeout: 10_000 }).catch((caught: unknown) => caught);
    expect(error).toMatchObject({ excType: 'EncodeError', excModule: 'kombu.exceptions' });
  });

  it('sends no reply for an ignore_result task', async () => {
    const tasks = worker.get(RpcTasks);
    const runsBefore = tasks.ignoredRuns;
    const ignored = await producerClient.send('it.ignored');
    await eventually(() => (tasks.ignoredRuns > runsBefore ? true : undefined), 10_000, 'the ignored task to run');
    // A task sent after it has its reply back, so the ignored task's would have arrived by now.
    expect(await (await producerClient.send('it.add', [1, 1])).get({ timeout: 10_000 })).toBe(2);
    expect(await ignored.state()).toBe(TaskState.PENDING);
    await expect(ignored.get({ timeout: 200 })).rejects.toThrow(ResultTimeoutError);
  });

  it('shows STARTED while a trackStarted task runs', async () => {
    const tasks = worker.get(RpcTasks);
    tasks.closeGate();
    const result = await producerClient.send('it.tracked');
    try {
      await eventually(async () => ((await result.state()) === TaskState.STARTED ? true : undefined), 10_000, 'STARTED');
      expect(await result.info()).toMatchObject({ status: 'STARTED', result: { pid: process.pid, hostname: expect.stringMatching(/^rpcworker@/) }, dateDone: null });
    } finally {
      tasks.openGate();
    }
    expect(await result.get({ timeout: 10_000 })).toBe('done');
    expect(await result.state()).toBe(TaskState.SUCCESS);
  });

  it("delivers the reply to the sending app's queue only", async () => {
    const fromProducer = await producerClient.send('it.add', [20, 22]);
    expect(await fromProducer.get({ timeout: 10_000 })).toBe(42);
    expect(await backendOf(worker).getResult(fromProducer.id)).toBeNull(); // the worker app has its own reply queue
    expect(backendOf(worker).replyQueue).not.toBe(backendOf(producer).replyQueue);

    const fromWorkerApp = await workerClient.send('it.add', [1, 2]);
    expect(await fromWorkerApp.get({ timeout: 10_000 })).toBe(3);
    expect(await backendOf(producer).getResult(fromWorkerApp.id)).toBeNull();
  });

  describe('replies on the wire, read raw beside the Celery 5.2.6 captures', () => {
    let connection: ChannelModel;
    let channel: Channel;
    let replyQueue: string;

    beforeAll(async () => {
      connection = await connect(RABBITMQ_URL);
      channel = await connection.createChannel();
      replyQueue = (await channel.assertQueue('', { exclusive: true, autoDelete: true })).queue;
    });

    afterAll(async () => {
      await connection?.close();
    });

    async function nextReply(): Promise<GetMessage> {
      return eventually(async () => (await channel.get(replyQueue, { noAck: true })) || undefined, 10_000, `a reply on ${replyQueue}`);
    }

    it('sends SUCCESS exactly as rpc_reply_success.json', async () => {
      const [captured] = loadFixture('rpc_reply_success').messages;
      const id = publishPythonShapedTask(channel, queue, 'it.add', [2, 3], replyQueue);
      const reply = await nextReply();
      expect(reply.fields).toMatchObject({ exchange: '', routingKey: replyQueue });
      expect(reply.properties).toMatchObject({
        contentType: captured.properties.content_type,
        contentEncoding: captured.properties.content_encoding,
        correlationId: id,
        deliveryMode: captured.properties.delivery_mode,
        priority: captured.properties.priority,
        headers: {},
        replyTo: undefined,
      });
      expect(reply.content.toString('utf8')).toBe(captured.body_raw.replaceAll(captured.body.task_id, id));
    });

    it('sends FAILURE with the keys, exception dict and traceback of rpc_reply_failure.json', async () => {
      const [captured] = loadFixture('rpc_reply_failure').messages;
      const id = publishPythonShapedTask(channel, queue, 'it.fail', ['boom'], replyQueue);
      const reply = await nextReply();
      const body = JSON.parse(reply.content.toString('utf8'));
      expect(Object.keys(body)).toEqual(Object.keys(captured.body));
      expect(body).toMatchObject({ task_id: id, status: 'FAILURE', result: captured.body.result, children: [] });
      expect(typeof body.traceback).toBe('string');
      expect(reply.content.toString('utf8')).toMatch(/^\{"task_id": "[^"]+", "status": "FAILURE", "result": \{"exc_type": "ValueError", "exc_message": \["boom"\], "exc_module": "builtins"\}, "traceback": "/);
      expect(reply.properties).toMatchObject({ correlationId: id, deliveryMode: 1, priority: 0, contentType: 'application/json' });
    });
  });

  it('receives replies again after RabbitMQ drops the connection (the reply queue is declared anew)', async () => {
    const replyQueue = backendOf(producer).replyQueue!;
    expect(await forceCloseConnection(connectionName)).toBeGreaterThan(0);
    // auto-delete: the queue went with its consumer, and comes back when the consumer resumes.
    await eventually(() => (rabbitmqRows('consumers', ['queue_name', 'prefetch_count'], replyQueue).length === 1 ? true : undefined), 15_000, 'the reply queue consumer to resume');
    expect(await (await producerClient.send('it.add', [4, 5])).get({ timeout: 10_000 })).toBe(9);
  });
});
