import { Injectable } from '@nestjs/common';
import { setTimeout as sleep } from 'node:timers/promises';
import { CeleryTask, currentTask } from '../../../lib';

/** Tasks that show the other outcomes: echo, failure, a slow task and a flaky one. */
@Injectable()
export class UtilityTasks {
  /** How many times tasks.flaky has been called per key, in this worker process. */
  private readonly flakyCalls = new Map<string, number>();

  @CeleryTask({ name: 'tasks.echo' })
  echo(value: unknown): unknown {
    return value;
  }

  @CeleryTask({ name: 'tasks.fail' })
  fail(message: string): never {
    throw new Error(message);
  }

  /** Waits; stops early when the worker aborts it (its 30 s soft time limit, or shutdown past its timeout). */
  @CeleryTask({ name: 'tasks.sleep', softTimeLimit: 30 })
  async sleep(seconds: number): Promise<number> {
    await sleep(seconds * 1000, undefined, { signal: currentTask().signal });
    return seconds;
  }

  /**
   * Throws the first `failures` times it is called with `key`, then returns `key`. Retried
   * automatically 5 times, 0.1 s apart: flaky(key, 2) succeeds on its third try, flaky(key, 9)
   * ends in FAILURE with MaxRetriesExceededError.
   */
  @CeleryTask({ name: 'tasks.flaky', autoretryFor: [Error], maxRetries: 5, defaultRetryDelay: 0.1 })
  flaky(key: string, failures: number): string {
    const calls = (this.flakyCalls.get(key) ?? 0) + 1;
    this.flakyCalls.set(key, calls);
    if (calls <= failures) throw new Error(`flaky failure ${calls} of ${failures} for ${key}`);
    return key;
  }
}
