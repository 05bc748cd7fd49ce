/**
 * What the fault suite counts for each scenario, and the sample workers it runs: real
 * `dist/sample-app/src/main-worker.js` processes with the fault drill tasks on, so they can be
 * killed for real. See docs/RELIABILITY.md.
 */
import { INestApplicationContext } from '@nestjs/common';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ROOT, SampleProcess, startNodeProcess, startSampleProcess } from './built-app';
import { startCeleryApp } from './celery-app';
import { querySql } from './postgres';
import { RABBITMQ_URL } from './rabbitmq';
import { createTestEnvironment, TestEnvironment } from './test-environment';

/** The one-line count each scenario prints and asserts on. */
export interface FaultCounts {
  sent: number;
  /** Tasks whose body ran to the end at least once (from the drill file). */
  completed: number;
  /** Tasks with a stored ready result (celery_taskmeta). */
  stored: number;
  /** Extra finished runs: a task that ran to the end twice counts 1. */
  duplicates: number;
  /** Sent, and neither stored nor (for tasks that store nothing) completed. */
  lost: number;
}

/** A temporary drill file the workers append one line per finished run to; remove() deletes it. */
export function createDrillFile(label: string): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), `fault-drill-${label}-`));
  return { path: join(dir, 'runs.log'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

/** Finished runs by task key, with the worker pid of each: "<key> <pid>" lines. */
export function readRuns(drillFile: string): Map<string, number[]> {
  const runs = new Map<string, number[]>();
  if (!existsSync(drillFile)) return runs;
  for (const line of readFileSync(drillFile, 'utf8').split('\n')) {
    const [key, pid] = line.trim().split(' ');
    if (!key) continue;
    runs.set(key, [...(runs.get(key) ?? []), Number(pid)]);
  }
  return runs;
}

/** States of the given task ids in celery_taskmeta, in batches (thousands of ids). */
export async function storedStates(databaseUrl: string, ids: string[]): Promise<Map<string, string>> {
  const states = new Map<string, string>();
  for (let start = 0; start < ids.length; start += 1000) {
    const rows = await querySql(databaseUrl, 'SELECT task_id, status FROM celery_taskmeta WHERE task_id = ANY($1)', [ids.slice(start, start + 1000)]);
    for (const row of rows) states.set(row.task_id, row.status);
  }
  return states;
}

/** Counts for tasks sent as drill.record_run(key): `keys` by task id. */
export async function countRecordedRuns(databaseUrl: string, drillFile: string, keysById: Map<string, string>): Promise<FaultCounts> {
  const runs = readRuns(drillFile);
  const states = await storedStates(databaseUrl, [...keysById.keys()]);
  let completed = 0;
  let stored = 0;
  let duplicates = 0;
  let lost = 0;
  for (const [id, key] of keysById) {
    const finished = runs.get(key)?.length ?? 0;
    if (finished > 0) completed++;
    duplicates += Math.max(0, finished - 1);
    if (states.get(id) === 'SUCCESS') stored++;
    else lost++;
  }
  return { sent: keysById.size, completed, stored, duplicates, lost };
}

/** The line each scenario prints, e.g. `[faults] sigkill: sent 1000, completed 1000, stored 1000, duplicates 3, lost 0`. */
export function reportCounts(scenario: string, counts: FaultCounts, extra = ''): void {
  const line = `[faults] ${scenario}: sent ${counts.sent}, completed ${counts.completed}, stored ${counts.stored}, duplicates ${counts.duplicates}, lost ${counts.lost}${extra ? `, ${extra}` : ''}`;
  process.stdout.write(`${line}\n`);
}

/** Settings of a sample worker process (Celery's names, read by sample-app/src/celery-settings.ts). */
export interface DrillWorkerSettings {
  broker: string;
  backend: string;
  queue: string;
  drillFile: string;
  hostname: string;
  concurrency?: number;
  acksLate?: boolean;
  rejectOnWorkerLost?: boolean;
  trackStarted?: boolean;
  /** Run it through the worker CLI (bin/nestjs-celery-worker: exit 0 after a warm shutdown) instead of main-worker.js. */
  viaCli?: boolean;
  extra?: Record<string, string>;
}

/** Starts a sample worker process and waits until it consumes. */
export async function startDrillWorker(settings: DrillWorkerSettings): Promise<SampleProcess> {
  const env = {
    CELERY_BROKER_URL: settings.broker,
    CELERY_RESULT_BACKEND: settings.backend,
    CELERY_QUEUES: settings.queue,
    CELERY_HOSTNAME: settings.hostname,
    CELERY_CONCURRENCY: String(settings.concurrency ?? 10),
    CELERY_TASK_ACKS_LATE: String(settings.acksLate ?? true),
    CELERY_TASK_REJECT_ON_WORKER_LOST: String(settings.rejectOnWorkerLost ?? true),
    CELERY_TASK_TRACK_STARTED: String(settings.trackStarted ?? false),
    SAMPLE_FAULT_DRILL: settings.drillFile,
    ...settings.extra,
  };
  // -l info: the CLI's default level (warning, as celery worker's) would not log "started consuming".
  const cli = [join(ROOT, 'bin', 'nestjs-celery-worker'), '--module', join(ROOT, 'dist', 'sample-app', 'src', 'worker.module.js'), '--export', 'WorkerModule', '-l', 'info'];
  const worker = settings.viaCli ? startNodeProcess(cli, env, `worker CLI ${settings.hostname}`) : startSampleProcess('main-worker', env);
  try {
    await worker.waitForOutput(/consuming/, 90_000);
  } catch (error) {
    // Never returned to the caller's teardown: killed here, or it would keep the test run alive.
    worker.child.kill('SIGKILL');
    await worker.exited;
    throw error;
  }
  return worker;
}

/** One scenario's fixture on the shared RabbitMQ and PostgreSQL; `env` and `producer` are set by its beforeAll. */
export interface FaultDrill {
  env: TestEnvironment;
  /** A send-only app (no worker) whose default queue is `env.queue`. */
  producer: INestApplicationContext;
  drillFile: string;
  /** Every worker started through startWorker; SIGKILLed by the afterAll. */
  workers: SampleProcess[];
  /** Starts a drill worker on `env` (settings override the defaults of startDrillWorker) and keeps it for the teardown. */
  startWorker(hostname: string, settings?: Partial<DrillWorkerSettings>): Promise<SampleProcess>;
}

/**
 * Registers the beforeAll/afterAll of a fault scenario that uses the shared services: a queue and
 * database of its own, a producer, a drill file, and the workers it starts, all removed afterwards.
 * Call it inside the scenario's describe; `label` names the queue, database and drill file.
 */
export function useFaultDrill(label: string): FaultDrill {
  const drill = createDrillFile(label);
  const fault = new SharedServicesDrill(drill.path);

  beforeAll(async () => {
    fault.env = await createTestEnvironment(`faults-${label}`);
    fault.producer = await startCeleryApp({ broker: RABBITMQ_URL, backend: fault.env.databaseUrl, defaultQueue: fault.env.queue, worker: false });
  }, 60_000);

  afterAll(async () => {
    for (const worker of fault.workers) worker.child.kill('SIGKILL');
    await Promise.all(fault.workers.map((worker) => worker.exited));
    await fault.producer?.close();
    await fault.env?.dispose();
    drill.remove();
  }, 60_000);

  return fault;
}

class SharedServicesDrill implements FaultDrill {
  // Definite: assigned by useFaultDrill's beforeAll, before any test reads them.
  env!: TestEnvironment;
  producer!: INestApplicationContext;
  readonly workers: SampleProcess[] = [];

  constructor(readonly drillFile: string) {}

  async startWorker(hostname: string, settings: Partial<DrillWorkerSettings> = {}): Promise<SampleProcess> {
    const worker = await startDrillWorker({ broker: RABBITMQ_URL, backend: this.env.databaseUrl, queue: this.env.queue, drillFile: this.drillFile, hostname, ...settings });
    this.workers.push(worker);
    return worker;
  }
}
