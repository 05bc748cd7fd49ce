import { globToRegExp } from '../utils/fnmatch';
import { optionKeys } from '../utils/option-keys';

/** Where a task goes (one entry of Celery's `task_routes`). */
export interface Route {
  queue?: string;
  exchange?: string;
  routingKey?: string;
  priority?: number;
}

export const ROUTE_KEYS = optionKeys<Route>()('queue', 'exchange', 'routingKey', 'priority');

/** A router function, Celery's `(name, args, kwargs, options, task=None) → route`. */
export type RouterFunction = (name: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>) => Route | string | null | undefined;

/**
 * Celery's `task_routes`: a map of task names or glob patterns (`tasks.*`, `feeds.?ss`) to a
 * queue name or a Route, a router function, or a list of those (the first that answers wins).
 */
export type TaskRoutes = Record<string, Route | string> | RouterFunction | Array<Record<string, Route | string> | RouterFunction>;

/**
 * Finds the route of a task by name, in Celery's order: exact names, then glob patterns, for
 * each entry of the list in turn. Compiled once; lookups are cached per task name.
 */
export class TaskRouter {
  private readonly routers: RouterFunction[];
  private readonly cache = new Map<string, Route | null>();
  private readonly dynamic: boolean;

  constructor(routes: TaskRoutes | undefined) {
    const entries = routes === undefined ? [] : Array.isArray(routes) ? routes : [routes];
    this.routers = entries.map((entry) => (typeof entry === 'function' ? entry : mapRouter(entry)));
    this.dynamic = entries.some((entry) => typeof entry === 'function');
  }

  route(name: string, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): Route | null {
    // Map routes depend on the name only; router functions may look at the arguments.
    if (!this.dynamic && this.cache.has(name)) return this.cache.get(name)!;
    let found: Route | null = null;
    for (const router of this.routers) {
      const route = router(name, args, kwargs);
      if (route !== null && route !== undefined) {
        found = typeof route === 'string' ? { queue: route } : route;
        break;
      }
    }
    if (!this.dynamic) this.cache.set(name, found);
    return found;
  }
}

function mapRouter(map: Record<string, Route | string>): RouterFunction {
  const exact = new Map<string, Route | string>();
  const patterns: [RegExp, Route | string][] = [];
  for (const [key, route] of Object.entries(map)) {
    if (/[*?[]/.test(key)) patterns.push([globToRegExp(key), route]);
    else exact.set(key, route);
  }
  return (name) => exact.get(name) ?? patterns.find(([pattern]) => pattern.test(name))?.[1] ?? null;
}
