import { CeleryError } from '../errors/celery.error';
import { DuplicateTaskNameError } from '../errors/duplicate-task-name.error';
import { parseRateLimit } from './rate-limit';
import { TaskDefinition } from './task-definition';

/** The tasks this process can run, by registered name (Celery's `app.tasks`). */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();

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

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}
