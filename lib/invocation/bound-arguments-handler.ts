/**
 * The handler Nest's pipeline calls for a task method without parameter decorators. Nest calls a
 * handler with its execution context's arguments, `[boundArguments, taskContext]` for a task (so
 * `switchToRpc().getData()` and `getContext()` mean something); the method itself takes the bound
 * arguments one by one. The method's metadata is copied, so guards and interceptors reading it
 * from `context.getHandler()` (roles, a Reflector key) find it.
 */
export function boundArgumentsHandler(method: Function): Function {
  const handler = function (this: unknown, boundArguments: readonly unknown[]): unknown {
    return method.apply(this, boundArguments);
  };
  for (const key of Reflect.getMetadataKeys(method)) Reflect.defineMetadata(key, Reflect.getMetadata(key, method), handler);
  Object.defineProperty(handler, 'name', { value: method.name });
  return handler;
}
