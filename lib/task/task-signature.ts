/**
 * How a message's args and kwargs map onto a task's parameters, decided once when the task is
 * registered (Python reads it from the function's signature at call time; we cannot, see
 * parameter-names.ts).
 */
export interface TaskSignature {
  /** The parameter names keyword arguments bind to, in order. */
  readonly names: readonly string[];
  /** More positional args than `names` are passed on: a rest parameter, or a task declared positional only. */
  readonly acceptsExtraPositional: boolean;
  /** How many leading parameters a call must fill (`Function.length`: those before the first default or rest). */
  readonly requiredCount: number;
}
