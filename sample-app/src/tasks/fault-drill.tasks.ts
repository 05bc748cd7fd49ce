import { Injectable } from '@nestjs/common';
import { appendFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryTask, currentTask } from '../../../lib';

/** A task that crashes every time it runs, after this many automatic retries. */
export const POISON_MAX_RETRIES = 3;

/**
 * Tasks for fault drills (the fault suite kills and restarts workers and servers around them).
 * They only run where `SAMPLE_FAULT_DRILL` names a file: each finished run appends one line to it,
 * so duplicates can be counted across processes. Anywhere else they fail at once: a sample app
 * must not let anyone who can send a task make its worker crash.
 */
@Injectable()
export class FaultDrillTasks {
  /** Waits `seconds`, then appends "<key> <pid>" to the drill file: one line per finished run. */
  @CeleryTask({ name: 'drill.record_run' })
  async recordRun(key: string, seconds = 0): Promise<string> {
    const file = drillFile();
    if (seconds > 0) await sleep(seconds * 1000, undefined, { signal: currentTask().signal });
    // O_APPEND writes this short a line in one piece, so workers can share the file.
    appendFileSync(file, `${key} ${process.pid}\n`);
    return key;
  }

  /** Appends "<key> <pid>" then throws, every time: retried POISON_MAX_RETRIES times 0.1 s apart, then FAILURE. */
  @CeleryTask({ name: 'drill.poison', autoretryFor: [Error], maxRetries: POISON_MAX_RETRIES, defaultRetryDelay: 0.1 })
  poison(key: string): never {
    appendFileSync(drillFile(), `${key} ${process.pid}\n`);
    throw new Error(`poison task ${key} crashes every time`);
  }

  /** Kills its own worker process with SIGKILL, as an out-of-memory kill or a native crash would. */
  @CeleryTask({ name: 'drill.kill_worker' })
  killWorker(): void {
    drillFile();
    process.kill(process.pid, 'SIGKILL');
  }
}

function drillFile(): string {
  const file = process.env.SAMPLE_FAULT_DRILL;
  if (!file) throw new Error('Fault drill tasks are off: set SAMPLE_FAULT_DRILL to a file path on the worker to run them');
  return file;
}
