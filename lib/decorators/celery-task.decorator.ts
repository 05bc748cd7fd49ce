import 'reflect-metadata';
import { CELERY_TASK_METADATA, CELERY_TASK_METHODS_METADATA } from '../celery.constants';
import { CeleryError } from '../errors/celery.error';
import { ParameterReading, readParameters } from '../task/parameter-names';
import { TaskOptions } from '../task/task-definition';

/** Options of `@CeleryTask()`: the task's registered name, Celery task attributes, and how kwargs bind. */
export interface CeleryTaskOptions extends TaskOptions {
  /**
   * The names Celery kwargs bind to, in parameter order: `add.delay(x=1, y=2)` from Python fills
   * the parameters declared here as `['x', 'y']`. Celery has no such option because Python
   * introspects a function's signature; here the names are read from the method's source when
   * `@CeleryTask()` decorates it, and a start-up error says when they cannot be read for sure (a
   * destructured parameter). Declare them then, or when the code is minified (a minifier renames
   * parameters). `[]`: positional arguments only, any number.
   */
  argNames?: readonly string[];
}

/** What `@CeleryTask()` records on the method: its options, and the parameters it read from the method it saw. */
export interface TaskDeclaration {
  readonly options: CeleryTaskOptions;
  /** The method as the class body declares it, whichever decorators wrap it. */
  readonly declaredMethod: Function;
  /** Its parameters, read once at decoration; null when `argNames` says them. */
  readonly parameters: ParameterReading | null;
}

/**
 * Marks a provider method as a Celery task (Celery's `@app.task`). The module finds it at
 * bootstrap and runs it for messages sent by Python, PHP, Java or Nest; the method keeps its
 * ordinary signature and stays callable directly. The parameter names kwargs bind to are read
 * here, once, from the method as the class declares it, above or below decorators that wrap it.
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
    // While decorators run, the class still holds the method as written: Nest's (TypeScript's, SWC's,
    // Babel's legacy) decorate helper defines the final one only after the last decorator. A decorator
    // listed below this one may already have put its `(...args)` wrapper in the descriptor.
    const declared: unknown = Object.getOwnPropertyDescriptor(target, methodName)?.value;
    const declaredMethod = typeof declared === 'function' ? declared : method;
    const declaration: TaskDeclaration = { options, declaredMethod, parameters: options.argNames ? null : readParameters(declaredMethod) };
    Reflect.defineMetadata(CELERY_TASK_METADATA, declaration, method);
    // Kept on the class too: a decorator above this one that replaces the method without copying its
    // metadata would otherwise make the task vanish without a word (the explorer checks).
    const taskMethods: readonly (string | symbol)[] = Reflect.getOwnMetadata(CELERY_TASK_METHODS_METADATA, target) ?? [];
    Reflect.defineMetadata(CELERY_TASK_METHODS_METADATA, [...taskMethods, methodName], target);
    return descriptor;
  };
}
