import { TaskDeclaration } from '../decorators/celery-task.decorator';
import { TaskArgumentNamesError } from '../errors/task-argument-names.error';
import { TaskSignature } from '../task/task-signature';

/**
 * The one place that decides which names a task's kwargs bind to: `argNames` when declared,
 * otherwise the parameters `@CeleryTask()` read from the method as the class declares it — or a
 * start-up error, never a guess. The function that runs may be another decorator's `(...args)`
 * wrapper (a @Transactional above or below `@CeleryTask()`): it is typed with, and called by every
 * caller with, the declared parameters, so their names stay the ones to bind.
 */
export function resolveTaskSignature(taskName: string, source: string, declaration: TaskDeclaration): TaskSignature {
  const { options, declaredMethod, parameters } = declaration;
  // Function.length counts the parameters before the first default or rest; a minifier keeps it.
  const requiredCount = declaredMethod.length;
  if (options.argNames) {
    const names = checkedArgNames(taskName, source, options.argNames);
    return { names, acceptsExtraPositional: names.length === 0, requiredCount };
  }
  if (!parameters?.readable) throw TaskArgumentNamesError.unreadable(taskName, source, parameters?.seen ?? 'no parameter list');
  return { names: parameters.names, acceptsExtraPositional: parameters.hasRest, requiredCount };
}

function checkedArgNames(taskName: string, source: string, argNames: unknown): readonly string[] {
  if (!Array.isArray(argNames)) throw TaskArgumentNamesError.invalid(taskName, source, `${JSON.stringify(argNames)} is not a list`);
  const seen = new Set<string>();
  for (const name of argNames as unknown[]) {
    if (typeof name !== 'string' || name === '') throw TaskArgumentNamesError.invalid(taskName, source, `${JSON.stringify(name)} is not a name`);
    if (seen.has(name)) throw TaskArgumentNamesError.invalid(taskName, source, `'${name}' is listed twice`);
    seen.add(name);
  }
  return argNames as readonly string[];
}
