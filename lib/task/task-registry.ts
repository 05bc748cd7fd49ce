import { CeleryError } from '../errors/celery.error';
import { DuplicateTaskNameError } from '../errors/duplicate-task-name.error';
import { parseRateLimit } from './rate-limit';
import { TaskDefinition } from './task-definition';

/**
 * The tasks this process can run, by registered name (Celery's `app.tasks`). Celery's own
 * built-ins (`celery.chord_unlock`…) are kept apart from the app's tasks: a worker runs them, but
 * they never make an app a worker — only tasks of its own do.
 */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();
  private readonly builtins = new Set<string>();

  /** Registers one of the app's tasks. Throws DuplicateTaskNameError when the name is taken. */
  register(task: TaskDefinition): void {
    const existing = this.tasks.get(task.name);
    if (existing) throw new DuplicateTaskNameError(task.name, existing.source, task.source);
    try {
      parseRateLimit(task.options.rateLimit);
    } catch (error) {
      throw new CeleryError(`${task.source} (task "${task.name}"): ${(error as Error).message}`);
    }
    this.tasks.set(task.name, task);
  }

  /** Registers one of Celery's built-in tasks; an app task of the same name wins. */
  registerBuiltin(task: TaskDefinition): void {
    if (this.tasks.has(task.name)) return;
    this.tasks.set(task.name, task);
    this.builtins.add(task.name);
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  /** Every task a worker runs here, built-ins included, sorted. */
  names(): string[] {
    return [...this.tasks.keys()].sort();
  }

  /** The app's own tasks, sorted: what makes an app a worker. */
  appTaskNames(): string[] {
    return this.names().filter((name) => !this.builtins.has(name));
  }

  isBuiltin(name: string): boolean {
    return this.builtins.has(name);
  }
}
