import type { TaskSnapshot } from '../monitoring/monitored-task';
import { maskSecretsInText } from '../utils/mask-secrets';

/** Fields of a task that carry free text from the tasks themselves, where a URL with a password may hide. */
const TEXT_FIELDS = ['args', 'kwargs', 'result', 'exception', 'traceback'] as const;

/**
 * A task as the dashboard shows it: any `scheme://user:password@` in its arguments, result,
 * exception or traceback masked (issue #7: no credentials in any view).
 */
export function presentTask(task: TaskSnapshot): TaskSnapshot {
  const shown = { ...task };
  for (const field of TEXT_FIELDS) {
    const value = shown[field];
    if (typeof value === 'string') shown[field] = maskSecretsInText(value);
  }
  shown.timeline = task.timeline.map((entry) => (entry.exception === undefined ? entry : { ...entry, exception: maskSecretsInText(entry.exception) }));
  return shown;
}
