import { INestApplicationContext } from '@nestjs/common';
import { CeleryClient, TaskFailedError } from '../../lib';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { startCeleryApp } from '../support/celery-app';
import { CELERY_PEER } from '../support/celery-peer';
import { type LocalSqsServer, sqsBrokerUrl, startLocalSqs } from '../support/local-sqs/local-sqs';
import { PythonWorker, runInteropClient, startPythonWorker } from '../support/python-worker';
import { uniqueName } from '../support/rabbitmq';
import { redisUrl } from '../support/redis';

/** Results go to this Redis database (keys are per task id: no other spec is disturbed). */
const RESULT_DB = 15;

/** Short waits for a test: long polling of 1 s, a tenth of a second between empty polls. */
const TRANSPORT_OPTIONS = { region: 'us-east-1', wait_time_seconds: 1, polling_interval: 0.1, visibility_timeout: 60 };

/**
 * SQS as the broker between the sample app (CELERY_BROKER_URL=sqs://…) and a real Python Celery
 * worker and client (kombu's SQS transport on Debian's boto3 and pycurl), on the local
 * SQS-compatible server, with results in Redis: tasks and results both ways, the bytes kombu
 * writes and reads, its queue names, and what SQS cannot do refused.
 */
/**
 * A Python script that receives one message from an SQS queue with boto3 and decodes it as kombu's
 * SQS transport does (`_optional_b64_decode`, `loads`, then the envelope's base64 body). Not
 * kombu's SimpleQueue: kombu 5.6's synchronous receive passes MessageSystemAttributeNames, which
 * Debian's botocore 1.29 does not know (its worker uses the async client, which works).
 */
function readWithBoto3(sqsName: string): string {
  return `
import base64, json
from interop_tasks import app
with app.connection_for_read() as conn:
    channel = conn.default_channel
    client = channel.sqs()
    url = client.get_queue_url(QueueName=${JSON.stringify(sqsName)})["QueueUrl"]
    messages = client.receive_message(QueueUrl=url, MaxNumberOfMessages=1, WaitTimeSeconds=5).get("Messages", [])
    client.delete_message(QueueUrl=url, ReceiptHandle=messages[0]["ReceiptHandle"])
envelope = json.loads(base64.b64decode(messages[0]["Body"]))
args = json.loads(base64.b64decode(envelope["body"]))[0]
print(json.dumps({"args": args, "task": envelope["headers"]["task"], "routing_key": envelope["properties"]["delivery_info"]["routing_key"], "content_type": envelope["content-type"]}))
`;
}

describe(`SQS broker with ${CELERY_PEER.name}`, () => {
  let sqs: LocalSqsServer;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let python: PythonWorker;
  const ourQueue = uniqueName('it-sqs-nest');
  const pythonQueue = uniqueName('it-sqs-py');
  let settings: { brokerUrl: string; resultBackend: string; transportOptions: typeof TRANSPORT_OPTIONS };

  beforeAll(async () => {
    sqs = await startLocalSqs();
    settings = { brokerUrl: sqsBrokerUrl(sqs), resultBackend: redisUrl(RESULT_DB), transportOptions: TRANSPORT_OPTIONS };
    [app, python] = await Promise.all([
      startCeleryApp(
        celeryOptionsFromEnvironment({ CELERY_BROKER_URL: sqsBrokerUrl(sqs, TRANSPORT_OPTIONS), CELERY_RESULT_BACKEND: settings.resultBackend, CELERY_QUEUES: ourQueue }, { worker: true }),
        [],
        [TasksModule],
      ),
      startPythonWorker({ queues: [pythonQueue], ...settings }),
    ]);
    celery = app.get(CeleryClient);
  }, 60_000);

  afterAll(async () => {
    await python?.stop();
    await app?.close();
    await sqs?.close();
  });

  it('runs tasks a Python producer sends on sqs:// (also with a countdown, held by our worker), and Python reads the results', async () => {
    const output = await runInteropClient<Record<string, unknown>>(
      `
import json, time
from interop_tasks import add, fail
started = time.monotonic()
r = add.apply_async((20, 22), queue=${JSON.stringify(ourQueue)})
later = add.apply_async((1, 2), queue=${JSON.stringify(ourQueue)}, countdown=1.5)
f = fail.apply_async(("from python",), queue=${JSON.stringify(ourQueue)})
try:
    f.get(timeout=30)
    failure = "no error"
except Exception as error:
    failure = [type(error).__name__, str(error)]
print(json.dumps({"sum": r.get(timeout=30), "state": r.state, "later": later.get(timeout=30), "held": time.monotonic() - started >= 1.5, "failure": failure}))
`,
      settings,
    );
    expect(output).toEqual({ sum: 42, state: 'SUCCESS', later: 3, held: true, failure: ['Exception', 'from python'] });
  }, 60_000);

  it('sends tasks only the Python worker has, and gets their results and failures', async () => {
    const result = await celery.send('py.upper', ['sqs'], { queue: pythonQueue });
    expect(await result.get({ timeout: 20_000 })).toBe('SQS');
    const failure = await (await celery.send('py.divide', [1, 0], { queue: pythonQueue })).get({ timeout: 20_000 }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(TaskFailedError);
    expect(failure).toMatchObject({ excType: 'ZeroDivisionError', excMessage: ['division by zero'] });
  }, 60_000);

  it("writes what kombu reads: a queue named with dots is kombu's dashed SQS queue, and Python decodes our message as kombu does", async () => {
    const queue = uniqueName('it.sqs.dotted');
    const sqsName = queue.replace(/\./g, '-');
    await celery.send('tasks.add', [3, 4], { queue });
    expect(sqs.counts(sqsName)).toEqual({ visible: 1, inFlight: 0, delayed: 0 });
    const read = await runInteropClient<unknown>(readWithBoto3(sqsName), settings);
    expect(read).toEqual({ args: [3, 4], task: 'tasks.add', routing_key: queue, content_type: 'application/json' });
    expect(sqs.counts(sqsName)).toEqual({ visible: 0, inFlight: 0, delayed: 0 });
  }, 60_000);

  it('sends to a FIFO queue with its message group and deduplication id: SQS keeps one of two duplicates, and Python decodes it', async () => {
    const queue = `${uniqueName('it-sqs-fifo')}.fifo`;
    const options = { queue, messageGroupId: 'customer-42', messageDeduplicationId: 'order-7' };
    await celery.send('tasks.add', [1, 1], options);
    await celery.send('tasks.add', [1, 1], options);
    expect(sqs.messages(queue)).toEqual([expect.objectContaining({ groupId: 'customer-42', deduplicationId: 'order-7', receiveCount: 0 })]);
    const read = await runInteropClient<unknown>(readWithBoto3(queue), settings);
    expect(read).toMatchObject({ args: [1, 1], task: 'tasks.add' });
  }, 60_000);

  it('refuses what SQS cannot do, saying so: remote control, priorities, and events at start-up', async () => {
    await expect(celery.control.ping({ timeout: 1_000 })).rejects.toThrow(/is not supported on the SQS broker.*cannot broadcast/s);
    await expect(celery.send('tasks.add', [1, 1], { queue: ourQueue, priority: 5 })).rejects.toThrow(
      /Sending with priority 5 .* is not supported on the SQS broker .* route urgent tasks to a queue of their own/s,
    );
    await expect(
      startCeleryApp({ broker: sqsBrokerUrl(sqs, TRANSPORT_OPTIONS), backend: settings.resultBackend, sendSentEvent: true, worker: false }),
    ).rejects.toThrow(/Celery events \(task-sent events \(sendSentEvent\)\) on sqs:\/\/test:\*\*\*@.* is not supported on the SQS broker/);
  }, 60_000);
});
