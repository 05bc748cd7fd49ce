import 'reflect-metadata';
import { CELERY_TASK_METADATA, CELERY_TASK_METHODS_METADATA } from '../celery.constants';
import { CeleryError } from '../errors/celery.error';
import { ParameterReading, readParameters } from '../worker/parameter-names';
import { TaskOptions } from '../worker/task-definition';

/** Options of `@CeleryTask()`: the task's registered name, Celery task attributes, and how kwargs bind. */
export interface CeleryTaskOptions extends TaskOptions {
  /**
   * The names Celery kwargs bind to, in parameter order: `add.delay(x=1, y=2)` from Python fills
   * the parameters declared here as `['x', 'y']`. Celery has no such option because Python
   * introspects a function's signature; here the names are read from the method's source when
   * `@CeleryTask()` decorates it, and a start-up error says when they cannot be read for sure
   * (another decorator's wrapper, a destructured parameter). Declare them then, or when the code
   * is minified (a minifier renames parameters). `[]`: positional arguments only, any number.
   */
  argNames?: readonly string[];
}

/** What `@CeleryTask()` records on the method: its options, and the parameters it read from the method it saw. */
export interface TaskDeclaration {
  readonly options: CeleryTaskOptions;
  /** The function `@CeleryTask()` decorated: the method itself when it is the decorator closest to it. */
  readonly declaredMethod: Function;
  /** Its parameters, read once at decoration; null when `argNames` says them. */
  readonly parameters: ParameterReading | null;
}

/**
 * Marks a provider method as a Celery task (Celery's `@app.task`). The module finds it at
 * bootstrap and runs it for messages sent by Python, PHP, Java or Nest; the method keeps its
 * ordinary signature and stays callable directly. Put it closest to the method, below decorators
 * that wrap methods (a @Transactional, a tracing decorator): it reads the parameter names kwargs
 * bind to from the method it decorates.
 *
 * ```ts
 * @CeleryTask({ name: 'tasks.add' })
 * add(x: number, y: number) { return x + y; }
 * ```
 */
export function CeleryTask(nameOrOptions: string | CeleryTaskOptions = {}): MethodDecorator {
  const options = typeof nameOrOptions === 'string' ? { name: nameOrOptions } : nameOrOptions;
  return (target, methodName, descriptor) => {
    const method: unknown = descriptor.value;
    if (typeof method !== 'function') {
      throw new CeleryError(`@CeleryTask() decorates methods; ${target.constructor.name}.${String(methodName)} is not one. Put it on a method.`);
    }
    const declaration: TaskDeclaration = { options, declaredMethod: method, parameters: options.argNames ? null : readParameters(method) };
    Reflect.defineMetadata(CELERY_TASK_METADATA, declaration, method);
    // Kept on the class too: a decorator above this one that replaces the method without copying its
    // metadata would otherwise make the task vanish without a word (the explorer checks).
    const declared: readonly (string | symbol)[] = Reflect.getOwnMetadata(CELERY_TASK_METHODS_METADATA, target) ?? [];
    Reflect.defineMetadata(CELERY_TASK_METHODS_METADATA, [...declared, methodName], target);
    return descriptor;
  };
}
