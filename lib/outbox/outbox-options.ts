import type { DataSource } from 'typeorm';
import { optionKeys } from '../utils/option-keys';

/**
 * The transactional outbox (`CeleryOutbox`): where its table lives and whether this process
 * relays it. Celery has no equivalent; it is the pattern Django users build with
 * `transaction.on_commit(lambda: task.delay(...))`, without the lost task when the process dies
 * between the commit and the send.
 */
export interface OutboxModuleOptions {
  /** The app's TypeORM DataSource (PostgreSQL): the one whose EntityManager you pass to `enqueue`. */
  dataSource?: DataSource;
  /** Or a PostgreSQL URL, for a process that only relays: it opens a connection of its own. */
  url?: string;
  /** Relay the table to the broker from this process. Several relays may run at once. Default true. */
  relay?: boolean;
  /** Create the table (and its NOTIFY trigger) at start-up; idempotent. Default true. */
  migrationsRun?: boolean;
  /** Longest time a committed message waits when no NOTIFY arrives (PGlite, a lost listener), ms. Default 1000. */
  pollIntervalMs?: number;
  /** Messages published and deleted per relay transaction. Default 100. */
  batchSize?: number;
}

export const OUTBOX_OPTION_KEYS = optionKeys<OutboxModuleOptions>()('dataSource', 'url', 'relay', 'migrationsRun', 'pollIntervalMs', 'batchSize');

/** The outbox options with every default applied. */
export interface ResolvedOutboxOptions extends Required<Pick<OutboxModuleOptions, 'relay' | 'migrationsRun' | 'pollIntervalMs' | 'batchSize'>> {
  dataSource?: DataSource;
  url?: string;
}

export const DEFAULT_OUTBOX_OPTIONS = { relay: true, migrationsRun: true, pollIntervalMs: 1000, batchSize: 100 } as const;

/** null when the module has no `outbox` option: `CeleryOutbox.enqueue` then refuses with OutboxNotConfiguredError. */
export function resolveOutboxOptions(options: OutboxModuleOptions | undefined): ResolvedOutboxOptions | null {
  if (options === undefined) return null;
  return {
    dataSource: options.dataSource,
    url: options.url,
    relay: options.relay ?? DEFAULT_OUTBOX_OPTIONS.relay,
    migrationsRun: options.migrationsRun ?? DEFAULT_OUTBOX_OPTIONS.migrationsRun,
    pollIntervalMs: options.pollIntervalMs ?? DEFAULT_OUTBOX_OPTIONS.pollIntervalMs,
    batchSize: options.batchSize ?? DEFAULT_OUTBOX_OPTIONS.batchSize,
  };
}
