import { hostname } from 'node:os';

/**
 * Celery's `anon_nodename()`: `gen<pid>@<host>`, the name a process that is not a worker sends
 * events under (a client's `task-sent`), the same one it writes in its tasks' `origin` header.
 */
export function anonymousNodename(): string {
  return `gen${process.pid}@${hostname()}`;
}
