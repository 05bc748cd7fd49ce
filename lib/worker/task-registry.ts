import { DuplicateTaskNameError } from '../errors/duplicate-task-name.error';
import { TaskDefinition } from './task-definition';

/** The tasks this process can run, by registered name (Celery's `app.tasks`). */
export class TaskRegistry {
  private readonly tasks = new Map<string, TaskDefinition>();

  register(task: TaskDefinition): void {
    const existing = this.tasks.get(task.name);
    if (existing) throw new DuplicateTaskNameError(task.name, existing.source, task.source);
    this.tasks.set(task.name, task);
  }

  get(name: string): TaskDefinition | undefined {
    return this.tasks.get(name);
  }

  names(): string[] {
    return [...this.tasks.keys()].sort();
  }
}
