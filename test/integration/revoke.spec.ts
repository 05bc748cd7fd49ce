import { INestApplicationContext, Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryClient, CeleryTask, CeleryWorker, currentTask, TaskFailedError, TaskState } from '../../lib';
import { eventually, startCeleryApp } from '../support/celery-app';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

@Injectable()
class RevocableTasks {
  ran = new Set<string>();

  @CeleryTask({ name: 'revoke.mark' })
  mark(key: string): string {
    this.ran.add(key);
    return key;
  }

  /** Runs until its signal fires. */
  @CeleryTask({ name: 'revoke.long' })
  async long(key: string): Promise<string> {
    this.ran.add(key);
    await sleep(30_000, undefined, { signal: currentTask().signal });
    return key;
  }
}

describe('revoke on the worker', () => {
  let env: TestEnvironment;
  let app: INestApplicationContext;
  let celery: CeleryClient;
  let worker: CeleryWorker;

  beforeAll(async () => {
    env = await createTestEnvironment('it-revoke');
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, [RevocableTasks]);
    celery = app.get(CeleryClient);
    worker = app.get(CeleryWorker);
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  it('never runs a task revoked before it arrives, and stores REVOKED', async () => {
    const id = 'revoked-before-sent';
    await worker.revoke([id]);
    const result = await celery.send('revoke.mark', ['before'], { taskId: id });
    const error = await result.get({ timeout: 5_000 }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ state: 'REVOKED', excType: 'TaskRevokedError', excMessage: ['revoked'] });
    expect(app.get(RevocableTasks).ran.has('before')).toBe(false);
    expect(worker.revokedIds()).toContain(id);
  });

  it('never runs a task revoked while it waits for its ETA', async () => {
    const result = await celery.send('revoke.mark', ['scheduled'], { countdown: 1 });
    await eventually(() => (worker.scheduledTasks().some((task) => task.id === result.id) ? true : undefined), 5_000, 'the ETA task to be held');
    await worker.revoke([result.id]);
    expect(await result.get({ timeout: 5_000, propagate: false })).toMatchObject({ exc_message: ['revoked'] });
    expect(app.get(RevocableTasks).ran.has('scheduled')).toBe(false);
  });

  it('terminates a running task: its signal fires, REVOKED terminated is stored, the slot is freed', async () => {
    const result = await celery.send('revoke.long', ['running']);
    await eventually(() => (app.get(RevocableTasks).ran.has('running') ? true : undefined), 5_000, 'the long task to start');
    expect(await worker.revoke([result.id], { terminate: true })).toEqual([result.id]);
    expect(await result.get({ timeout: 5_000, propagate: false })).toMatchObject({ exc_type: 'TaskRevokedError', exc_message: ['terminated'] });
    expect(await result.state()).toBe(TaskState.REVOKED);
    expect(worker.activeTasks()).toHaveLength(0);
  });
});
