import { hostname as osHostname } from 'node:os';
import { join } from 'node:path';
import { AmqpBroker } from '../../lib/broker/amqp/amqp-broker';
import { CeleryEventReceiver } from '../../lib/monitoring/celery-event-receiver';
import type { ReceivedEvent } from '../../lib/monitoring/received-event';
import { ROOT, SampleProcess, startNodeProcess, startSampleProcess } from '../support/built-app';
import { eventually } from '../support/celery-app';
import { deleteQueues, RABBITMQ_URL, uniqueName } from '../support/rabbitmq';

/**
 * `NestFactory.createApplicationContext()` starts the worker (onApplicationBootstrap: consuming,
 * worker-online) before it returns the app on which `enableShutdownHooks()` is called. A SIGTERM
 * in between used to take Node's default action: the worker vanished as if killed, without
 * worker-offline, and monitors raised worker-silent (alerts.spec.ts failed so in CI). It now
 * shuts down warmly whenever it comes, and the signal still ends the process.
 */
describe('a worker stopped by SIGTERM as soon as it is consuming', () => {
  const SILENT = { log() {}, warn() {}, error() {} };
  let broker: AmqpBroker;
  let receiver: CeleryEventReceiver;
  const events: ReceivedEvent[] = [];
  const queues: string[] = [];

  beforeAll(async () => {
    broker = new AmqpBroker({ url: RABBITMQ_URL, logger: SILENT });
    receiver = new CeleryEventReceiver({ broker });
    receiver.onEvent((event) => events.push(event));
    await receiver.start();
  });

  afterAll(async () => {
    await receiver?.stop();
    await broker?.close();
    await deleteQueues(...queues);
  });

  /** SIGTERM on the worker's "consuming" line; resolves with how the process ended and its node name. */
  async function terminateOnConsuming(start: (env: Record<string, string>) => SampleProcess): Promise<{ worker: SampleProcess; node: string; ended: number | string }> {
    const node = `${uniqueName('sigterm-at-start')}@${osHostname()}`;
    const queue = uniqueName('it-sigterm-at-start');
    queues.push(queue);
    const worker = start({ CELERY_BROKER_URL: RABBITMQ_URL, CELERY_QUEUES: queue, CELERY_HOSTNAME: node, REMOTE_SHUTDOWN_MODE: 'bare' });
    await worker.waitForOutput(/consuming/);
    worker.child.kill('SIGTERM');
    return { worker, node, ended: await worker.exited };
  }

  it('sends worker-offline and ends by the signal (createApplicationContext, then enableShutdownHooks: the sample worker)', async () => {
    const { worker, node, ended } = await terminateOnConsuming((env) => startSampleProcess('main-worker', env));
    expect(ended).toBe('SIGTERM');
    expect(worker.output()).toMatch(new RegExp(`Worker ${node} stopped after 0 task\\(s\\)`));
    await eventually(() => events.find((event) => event.hostname === node && event.type === 'worker-offline'), 10_000, `worker-offline from ${node}`);
  }, 60_000);

  it('sends worker-offline and ends by the signal in an app that never listens for SIGTERM', async () => {
    const { worker, node, ended } = await terminateOnConsuming((env) =>
      startNodeProcess([join(ROOT, 'test', 'support', 'remote-shutdown-process.js')], env),
    );
    expect(ended).toBe('SIGTERM');
    expect(worker.output()).toMatch(/SIGTERM received before the app listens for it: warm shutdown of the worker/);
    await eventually(() => events.find((event) => event.hostname === node && event.type === 'worker-offline'), 10_000, `worker-offline from ${node}`);
  }, 60_000);
});
