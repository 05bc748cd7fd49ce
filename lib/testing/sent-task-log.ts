import { AssertionError } from 'node:assert';
import { inspect, isDeepStrictEqual } from 'node:util';
import type { TaskCall } from '../client/celery-client';
import type { SendTaskOptions } from '../client/send-task-options';
import { SentTask, toSentTask } from './sent-task';

/** A task named by its registered name or by its TaskRef (`defineTask()`). */
export type TaskName = string | { readonly name: string };

/**
 * What a test asks of the tasks sent, on `CeleryTesting` and on `createCeleryClientMock()` alike.
 * Celery has no such record: Python tests mock `apply_async` and ask the mock.
 */
export interface SentTaskAssertions {
  /** The tasks sent, in order; only those of `task` when given. */
  sentTasks(task?: TaskName): SentTask[];
  /**
   * Asserts that `task` was sent, with these args (deep equality) and at least these options, given
   * as in the `send()` call: `expectTaskSent('tasks.add', [2, 2], { countdown: 10 })`. `queue`
   * is compared with where the task went after routing. Returns the first match; throws an
   * AssertionError listing what was sent otherwise.
   */
  expectTaskSent(task: TaskName, args?: readonly unknown[], options?: SendTaskOptions): SentTask;
  /** Asserts that no task was sent, or none of `task`. */
  expectNoTaskSent(task?: TaskName): void;
  /** Forgets what was sent so far (between tests). */
  clearSentTasks(): void;
}

/** The record itself: fed by the client's `onTaskCall`, asked through SentTaskAssertions. */
export class SentTaskLog implements SentTaskAssertions {
  private readonly sent: SentTask[] = [];

  /** The client's `onTaskCall`, bound. */
  readonly record = (call: TaskCall): void => {
    this.sent.push(toSentTask(call));
  };

  sentTasks(task?: TaskName): SentTask[] {
    if (task === undefined) return [...this.sent];
    const name = nameOf(task);
    return this.sent.filter((sent) => sent.name === name);
  }

  expectTaskSent(task: TaskName, args?: readonly unknown[], options: SendTaskOptions = {}): SentTask {
    const name = nameOf(task);
    const candidates = this.sentTasks(name);
    const match = candidates.find((sent) => (args === undefined || isDeepStrictEqual(sent.args, args)) && hasOptions(sent, options));
    if (match) return match;
    const wanted = `${name}${args === undefined ? '' : ` with args ${show(args)}`}${Object.keys(options).length > 0 ? ` and options ${show(options)}` : ''}`;
    throw new AssertionError({ message: `Expected ${wanted} to have been sent.\n${this.describe(candidates, name)}` });
  }

  expectNoTaskSent(task?: TaskName): void {
    const found = this.sentTasks(task);
    if (found.length === 0) return;
    const what = task === undefined ? 'no task' : `no ${nameOf(task)}`;
    throw new AssertionError({ message: `Expected ${what} to have been sent, but ${found.length} were:\n${found.map(line).join('\n')}` });
  }

  clearSentTasks(): void {
    this.sent.length = 0;
  }

  private describe(candidates: SentTask[], name: string): string {
    if (this.sent.length === 0) return 'No task was sent.';
    const others = this.sent.length - candidates.length;
    const sentOfName = candidates.length === 0 ? `No ${name} was sent` : `Sent ${name}:\n${candidates.map(line).join('\n')}`;
    return others === 0 ? sentOfName : `${sentOfName}\n(and ${others} other task(s): ${[...new Set(this.sent.map((sent) => sent.name))].join(', ')})`;
  }
}

function nameOf(task: TaskName): string {
  return typeof task === 'string' ? task : task.name;
}

/** Every option asked for equals the call's; `queue` is where the task went after routing. */
function hasOptions(sent: SentTask, options: SendTaskOptions): boolean {
  return Object.entries(options).every(([key, value]) =>
    key === 'queue' ? sent.queue === value : isDeepStrictEqual((sent.options as Record<string, unknown>)[key], value),
  );
}

function line(sent: SentTask): string {
  return `  - ${sent.name} args ${show(sent.args)} options ${show(sent.options)} → queue ${sent.queue}`;
}

function show(value: unknown): string {
  return inspect(value, { depth: 4, breakLength: Infinity });
}
