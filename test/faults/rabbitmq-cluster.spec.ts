import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask } from '../../lib';
import type { Broker } from '../../lib/broker/broker.interface';
import { CELERY_BROKER, CELERY_RUNTIME } from '../../lib/celery.constants';
import type { CeleryRuntime } from '../../lib/runtime/celery-runtime';
import { eventually, startCeleryApp } from '../support/celery-app';
import { createTestDatabase, TestDatabase } from '../support/postgres';
import { PrivateRabbitCluster, PrivateRabbitMq, startPrivateRabbitCluster } from '../support/private-rabbitmq';

const TASKS = 3_000;
const BATCH = 100;
const FREEZE_MS = 20_000;
/** Failover time allowed: from the client's connection drop to the first task completed after it. */
const FAILOVER_LIMIT_MS = 10_000;

/** Records every run, so the test can count what was lost (never run) and what ran twice. */
@Injectable()
class ClusterTasks {
  readonly runs = new Map<string, number>();
  readonly completedAt: number[] = [];

  @CeleryTask({ name: 'cluster.record' })
  async record(id: string): Promise<string> {
    this.runs.set(id, (this.runs.get(id) ?? 0) + 1);
    this.completedAt.push(Date.now());
    return id;
  }
}

/**
 * A three-node RabbitMQ cluster started privately (the shared node is never touched), quorum
 * queues (the default with several brokers), a producer and an acksLate worker each given the
 * nodes in another order, 3,000 tasks per scenario. In each, a node is taken away while tasks
 * flow: the worker's (stop_app), the producer's (stop_app), then one frozen for 20 s
 * (SIGSTOP/SIGCONT). Nothing may be lost; duplicates (an acksLate task whose ack died with its
 * connection runs again, as in Celery) and the failover time are printed.
 */
describe('fault: a three-node RabbitMQ cluster loses a node while 3,000 tasks flow', () => {
  let cluster: PrivateRabbitCluster;
  let database: TestDatabase;
  let worker: INestApplicationContext;
  let producer: INestApplicationContext;
  let tasks: ClusterTasks;
  const queue = 'faults-cluster';
  const figures: string[] = [];

  const urlList = (order: number[]) => {
    const [first, ...rest] = order.map((index) => cluster.nodes[index]);
    return [`${first.url}//`, ...rest.map((node) => `127.0.0.1:${node.port}`)].join(';');
  };
  const brokerOf = (app: INestApplicationContext) => app.get<Broker>(CELERY_BROKER);
  /** The cluster node a client is connected to now. */
  const nodeOf = (app: INestApplicationContext): PrivateRabbitMq => {
    const description = brokerOf(app).description;
    const node = cluster.nodes.find((candidate) => new RegExp(`:${candidate.port}(/|$)`).test(description));
    if (!node) throw new Error(`not connected to a cluster node: ${description}`);
    return node;
  };

  beforeAll(async () => {
    [cluster, database] = await Promise.all([startPrivateRabbitCluster(3, 'cluster'), createTestDatabase('faults_cluster')]);
    // Heartbeats of 6 s: a frozen node's connections are given up within 12–18 s (two missed
    // beats), not minutes, and before the 20 s freeze ends. Its quorum queues get no new leader
    // that fast (the cluster's own failure detection), so their tasks resume at the latest when it thaws.
    const broker = (order: number[]) => ({ url: urlList(order), heartbeatSeconds: 6, maxReconnectDelayMs: 1_000, publishTimeoutMs: 60_000 });
    worker = await startCeleryApp({ broker: broker([0, 1, 2]), backend: database.url, defaultQueue: queue, worker: { queues: [queue], acksLate: true } }, [ClusterTasks]);
    producer = await startCeleryApp({ broker: broker([1, 2, 0]), backend: database.url, defaultQueue: queue, worker: false });
    tasks = worker.get(ClusterTasks);
  }, 300_000);

  afterAll(async () => {
    for (const node of cluster?.nodes ?? []) {
      try {
        process.kill(node.pid(), 'SIGCONT');
      } catch {
        // Not frozen, or gone.
      }
    }
    await producer?.close().catch(() => undefined);
    await worker?.close().catch(() => undefined);
    await cluster?.stop();
    await database?.drop();
    if (figures.length > 0) console.log(`RabbitMQ cluster fault suite (${TASKS} tasks each, acksLate, quorum queues):\n${figures.join('\n')}`);
  }, 180_000);

  /**
   * Sends a third of TASKS tasks and waits for them to run, applies `fault` to the node `victim()`
   * names, sends the rest, and lets `restore` undo the fault once every task has run. Sends the
   * broker rejected are sent again (the caller was told, as an app would be). Fails on any task
   * lost or on a failover slower than FAILOVER_LIMIT_MS; prints the figures.
   */
  async function scenario(name: string, victim: () => PrivateRabbitMq, watched: INestApplicationContext, fault: (node: PrivateRabbitMq) => Promise<() => Promise<void>>): Promise<void> {
    const prefix = `${name}-`;
    const ids = Array.from({ length: TASKS }, (_, index) => `${prefix}${index}`);
    const celery = producer.get(CeleryClient);
    let rejected = 0;
    const send = async (batch: string[]): Promise<void> => {
      const outcomes = await celery.sendBulk('cluster.record', batch.map((id) => [id]));
      const again = batch.filter((_, index) => outcomes[index].status === 'rejected');
      rejected += again.length;
      if (again.length > 0) await send(again);
    };
    const sendAll = async (batchOf: string[]) => {
      for (let start = 0; start < batchOf.length; start += BATCH) await send(batchOf.slice(start, start + BATCH));
    };
    const ranOfScenario = () => ids.filter((id) => tasks.runs.has(id)).length;
    // A third before the fault, the rest once the node is gone: tasks flow on both sides of it,
    // and those sent after it must reach the worker through the failover.
    const before = ids.slice(0, TASKS / 3);
    await sendAll(before);
    await eventually(() => (ranOfScenario() >= before.length ? true : undefined), 120_000, `${name}: the first third run`);

    const node = victim();
    // The client's own connection events: the move to the next node takes milliseconds, too short to poll for.
    let droppedAt: number | null = null;
    const unsubscribe = watched.get<CeleryRuntime>(CELERY_RUNTIME).parts.connectionEvents.subscribe({
      disconnected: () => (droppedAt ??= Date.now()),
    });
    const faultAt = Date.now();
    const restore = await fault(node);
    try {
      await sendAll(ids.slice(TASKS / 3));
      await eventually(() => (ranOfScenario() === TASKS ? true : undefined), 180_000, `${name}: every task run`);
    } finally {
      unsubscribe();
      await restore();
    }
    const lost = ids.filter((id) => !tasks.runs.has(id)).length;
    const duplicates = ids.reduce((sum, id) => sum + Math.max(0, (tasks.runs.get(id) ?? 0) - 1), 0);
    const from = droppedAt ?? faultAt;
    const firstAfter = tasks.completedAt.find((at) => at > from);
    const failoverMs = firstAfter === undefined ? null : firstAfter - from;
    figures.push(
      `  ${name}: ${TASKS - lost} of ${TASKS} run, ${lost} lost, ${duplicates} duplicate(s), ${rejected} send(s) rejected to the caller and sent again; ` +
        `failover ${failoverMs} ms from the ${droppedAt === null ? 'fault (no connection drop seen)' : 'connection drop'} to the first task completed after it`,
    );
    expect(lost).toBe(0);
    expect(failoverMs).not.toBeNull();
    expect(failoverMs!).toBeLessThanOrEqual(FAILOVER_LIMIT_MS);
  }

  const stopApp = async (node: PrivateRabbitMq) => {
    await node.stopApp();
    return () => node.startApp();
  };

  it('the node the worker is connected to stops: nothing lost', async () => {
    await scenario('worker-node-stopped', () => nodeOf(worker), worker, stopApp);
  }, 420_000);

  it('the node the producer is connected to stops: nothing lost', async () => {
    await scenario('producer-node-stopped', () => nodeOf(producer), producer, stopApp);
  }, 420_000);

  it('the worker\'s node freezes for 20 s (SIGSTOP, then SIGCONT): nothing lost', async () => {
    await scenario('worker-node-frozen', () => nodeOf(worker), worker, async (node) => {
      const pid = node.pid();
      process.kill(pid, 'SIGSTOP');
      const thaw = setTimeout(() => process.kill(pid, 'SIGCONT'), FREEZE_MS);
      return async () => {
        clearTimeout(thaw);
        process.kill(pid, 'SIGCONT');
      };
    });
  }, 420_000);
});
