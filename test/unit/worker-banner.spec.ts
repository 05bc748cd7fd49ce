import { celeryTaskQueue } from '../../lib/broker/celery-queue';
import { SOFTWARE_INFO } from '../../lib/events/software-info';
import { LamportClock } from '../../lib/protocol/lamport-clock';
import { Mingle, nodenameInUseWarning } from '../../lib/remote-control/mingle';
import { renderWorkerBanner, WorkerBannerInfo } from '../../lib/runtime/worker-banner';
import { TaskProgressLog } from '../../lib/worker/task-progress-log';
import type { TaskMessage } from '../../lib/protocol/task-message';
import type { WorkerMonitor } from '../../lib/worker/worker-monitor';

const INFO: WorkerBannerInfo = {
  nodename: 'worker1@box',
  app: 'WorkerModule (dist/worker.module.js)',
  transport: 'amqp://guest:***@127.0.0.1:5672//',
  results: 'disabled://',
  concurrency: 8,
  prefetchMultiplier: 1,
  acksLate: false,
  taskEvents: false,
  queues: [celeryTaskQueue('urgent'), celeryTaskQueue('celery')],
  tasks: ['tasks.mul', 'tasks.add'],
  builtinTasks: ['celery.chord_unlock'],
  logLevel: 'warning',
  startedAt: new Date(2024, 4, 1, 9, 5, 7),
  platform: 'Linux-6.1.0-x86_64-node-v20.11.0',
};

describe("the worker CLI's start-up banner", () => {
  it("is laid out as Celery 5.2.6's celery worker banner, and lists no task at the default level (warning)", () => {
    expect(renderWorkerBanner(INFO)).toBe(
      [
        ' ',
        ` -------------- worker1@box v${SOFTWARE_INFO.sw_ver} (nestjs-celery, Celery 5.2.6 protocol)`,
        '--- ***** ----- ',
        '-- ******* ---- Linux-6.1.0-x86_64-node-v20.11.0 2024-05-01 09:05:07',
        '- *** --- * --- ',
        '- ** ---------- [config]',
        '- ** ---------- .> app:         WorkerModule (dist/worker.module.js)',
        '- ** ---------- .> transport:   amqp://guest:***@127.0.0.1:5672//',
        '- ** ---------- .> results:     disabled://',
        '- *** --- * --- .> concurrency: 8 (event loop)',
        '-- ******* ---- .> prefetch:    8 (concurrency × worker_prefetch_multiplier 1)',
        '--- ***** ----- .> acks:        early, before the task runs',
        ' -------------- .> task events: OFF (enable -E to monitor tasks in this worker)',
        '                ',
        '                [queues]',
        '                .> celery           exchange=celery(direct) key=celery',
        '                .> urgent           exchange=urgent(direct) key=urgent',
        '                ',
        '',
      ].join('\n'),
    );
  });

  it('lists the tasks at info, Celery built-ins too at debug, and says when events are on and acks late', () => {
    const info = renderWorkerBanner({ ...INFO, logLevel: 'info', taskEvents: true, acksLate: true, prefetchMultiplier: 4 });
    expect(info).toContain('.> task events: ON\n');
    expect(info).toContain('.> acks:        late, once the outcome is stored (task_acks_late)\n');
    expect(info).toContain('.> prefetch:    32 (concurrency × worker_prefetch_multiplier 4)\n');
    expect(info.endsWith('                \n\n[tasks]\n  . tasks.add\n  . tasks.mul\n')).toBe(true);
    expect(renderWorkerBanner({ ...INFO, logLevel: 'debug' })).toContain('[tasks]\n  . celery.chord_unlock\n  . tasks.add\n  . tasks.mul\n');
  });

  it('never says "consuming" (the INFO line the CLI tests look for at -l info only)', () => {
    expect(renderWorkerBanner({ ...INFO, logLevel: 'debug' })).not.toContain('consuming');
  });
});

describe("Celery's per-task INFO lines (TaskProgressLog, -l info)", () => {
  const message = { id: '6f1c', task: 'tasks.add' } as TaskMessage;
  const lines: string[] = [];
  const log = new TaskProgressLog({ log: (line) => lines.push(line), warn: () => undefined, error: () => undefined });

  it('says received, succeeded with the runtime and result repr, retry and discarded in Celery words; no failure line (that one is at ERROR)', () => {
    log.taskReceived(message);
    log.taskSucceeded(message, { total: 5, items: ['a'] }, 0.0041);
    log.taskSucceeded(message, 'x'.repeat(2000), 2);
    log.taskRetried(message, new TypeError('boom'));
    log.taskRevoked(message, 'revoked');
    log.taskRevoked(message, 'expired');
    (log as WorkerMonitor).taskFailed?.(message, new Error('nope'), 0.1);
    expect(lines.slice(0, 2)).toEqual(['Task tasks.add[6f1c] received', "Task tasks.add[6f1c] succeeded in 0.0041s: {'total': 5, 'items': ['a']}"]);
    expect(lines[2]).toMatch(/^Task tasks\.add\[6f1c\] succeeded in 2\.0s: 'x{1010,}\.\.\.$/);
    expect(lines[2].length).toBeLessThan(1100);
    expect(lines.slice(3)).toEqual(['Task tasks.add[6f1c] retry: TypeError: boom', 'Discarding revoked task: tasks.add[6f1c]', 'Discarding revoked task: tasks.add[6f1c] (expired)']);
  });
});

describe("Mingle (Celery's worker start-up hello)", () => {
  function mingleWith(replies: Record<string, unknown>[], revoked: string[][] = []) {
    const logged: string[] = [];
    const warned: string[] = [];
    const clock = new LamportClock();
    const sent: unknown[] = [];
    const mingle = new Mingle({
      control: {
        broadcast: (async (method: string, args: unknown, options: unknown) => {
          sent.push({ method, args, options });
          return replies;
        }) as never,
      },
      worker: { hostname: 'me@box', revoke: async (ids) => revoked.push([...ids]) },
      clock,
      logger: { log: (line) => logged.push(line), warn: (line) => warned.push(line), error: (line) => logged.push(line) },
    });
    return { mingle, logged, warned, clock, sent };
  }

  it('asks every node with hello for a second, takes their revoked ids and clock', async () => {
    const revoked: string[][] = [];
    const { mingle, logged, warned, clock, sent } = mingleWith([{ 'py@box': { revoked: { 'id-1': [12.5, 'id-1'] }, clock: 40 } }, { 'nest@box': { revoked: {}, clock: 3 } }], revoked);
    await mingle.sync();
    expect(sent).toEqual([{ method: 'hello', args: { from_node: 'me@box', revoked: {} }, options: { reply: true, timeout: 1000 } }]);
    expect(revoked).toEqual([['id-1']]);
    expect(clock.value).toBeGreaterThan(40);
    expect(logged).toEqual(['mingle: searching for neighbors', 'mingle: sync with 2 nodes', 'mingle: sync complete']);
    expect(warned).toEqual([]);
  });

  it("warns in Celery's words when a live node answers under this worker's own name", async () => {
    const { mingle, logged, warned } = mingleWith([{ 'me@box': null }]);
    await mingle.sync();
    expect(warned).toEqual([nodenameInUseWarning('me@box')]);
    expect(warned[0]).toBe(
      'A node named me@box is already using this process mailbox!\n\n' +
        'Maybe you forgot to shutdown the other node or did not do so properly?\n' +
        'Or if you meant to start multiple nodes on the same host please make sure\n' +
        'you give each node a unique node name!',
    );
    expect(logged).toEqual(['mingle: searching for neighbors', 'mingle: all alone']);
  });
});
