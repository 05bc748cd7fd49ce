import type { DataSource, EntityManager } from 'typeorm';
import { newDataSource } from '../backend/database/celery-result-schema';
import { describeDatabaseError } from '../backend/database/postgres-errors';
import { toNodePostgresUrl } from '../backend/database/postgres-url';
import { AsyncResult } from '../client/async-result';
import type { CeleryClient } from '../client/celery-client';
import type { SendTaskOptions } from '../client/send-task-options';
import type { AnyTaskRef, TaskRef } from '../client/task-ref';
import type { TaskSendArguments } from '../client/typed-task-calls';
import { OutboxConnectionError } from '../errors/outbox-connection.error';
import { OutboxNotConfiguredError } from '../errors/outbox-not-configured.error';
import { CeleryLogger } from '../utils/logger';
import { maskUrl } from '../utils/mask-secrets';
import { migrationsAdvice, runCeleryMigrations } from '../backend/database/migrations/run-celery-migrations';
import { requireOptionalPackages } from '../utils/optional-package';
import { celeryOutboxMigrations } from './create-celery-outbox.migration';
import { ResolvedOutboxOptions } from './outbox-options';
import { OutboxRelay } from './outbox-relay';
import { INSERT_OUTBOX_ROW_SQL, toOutboxParameters } from './outbox-row';
import { OutboxTableNames } from './outbox-table';

/** What needs TypeORM here, for the error when it is not installed. */
const OUTBOX = 'The transactional outbox (outbox option)';

/**
 * Sends tasks inside the caller's database transaction (the transactional-outbox pattern; Celery
 * has none, Django users approximate it with `transaction.on_commit`). `enqueue` writes the fully
 * encoded message into `celery_outbox` through the caller's EntityManager: rolled back, no task
 * is ever published; committed, the relay publishes it with a confirm, even after a crash.
 * Injectable in Nest as `CeleryOutbox`.
 */
export class CeleryOutbox {
  private relay: OutboxRelay | null = null;
  private ownDataSource: DataSource | null = null;

  constructor(
    private readonly client: CeleryClient,
    private readonly options: ResolvedOutboxOptions | null,
    private readonly logger: CeleryLogger,
  ) {
    // TypeORM (and node-postgres for a URL) are optional peers: missing ones fail here, at start-up.
    if (options?.url !== undefined) requireOptionalPackages(['typeorm', 'pg'], OUTBOX);
    else if (options) requireOptionalPackages(['typeorm'], OUTBOX);
  }

  /**
   * Writes a task message into the outbox in `manager`'s transaction and returns its AsyncResult
   * at once (the task id is fixed now). Arguments and options are those of `CeleryClient.send`;
   * invalid ones throw InvalidSendOptionsError before anything is written. Through a TaskRef they
   * are checked as `send` checks them.
   */
  enqueue<TArgs extends unknown[], TResult, TKwargs extends object>(manager: EntityManager, task: TaskRef<TArgs, TResult, TKwargs>, ...call: NoInfer<TaskSendArguments<TArgs, TKwargs>>): Promise<AsyncResult<TResult>>;
  enqueue<TResult = unknown>(manager: EntityManager, task: string, args?: unknown[], options?: SendTaskOptions): Promise<AsyncResult<TResult>>;
  async enqueue(manager: EntityManager, task: string | AnyTaskRef, args: unknown[] = [], options: SendTaskOptions = {}): Promise<AsyncResult> {
    if (!this.options) throw new OutboxNotConfiguredError();
    const prepared = this.client.prepare(task, args, options);
    // The producer span covers the write: the relay publishes later, in whatever context, the
    // headers written here (so the consumer's span is a child of the enqueuing transaction's).
    try {
      await manager.query(INSERT_OUTBOX_ROW_SQL, toOutboxParameters(prepared));
    } catch (error) {
      prepared.trace?.end(error);
      throw error;
    }
    prepared.trace?.end();
    return this.client.asyncResult(prepared.taskId);
  }

  /** Creates the table when asked and starts this process's relay (application bootstrap). */
  async start(): Promise<void> {
    const options = this.options;
    if (!options || (!options.relay && !options.migrationsRun)) return;
    const dataSource = await this.openDataSource(options);
    if (options.migrationsRun) await this.createTable(dataSource);
    if (!options.relay) return;
    this.relay = new OutboxRelay({
      dataSource,
      publish: (prepared) => this.client.publishPrepared(prepared),
      logger: this.logger,
      pollIntervalMs: options.pollIntervalMs,
      batchSize: options.batchSize,
    });
    await this.relay.start();
  }

  /** Stops the relay after the batch in progress, and closes the connection it opened from a URL. */
  async stop(): Promise<void> {
    await this.relay?.stop();
    this.relay = null;
    await this.ownDataSource?.destroy();
    this.ownDataSource = null;
  }

  private async openDataSource(options: ResolvedOutboxOptions): Promise<DataSource> {
    if (options.dataSource) {
      if (!options.dataSource.isInitialized) await options.dataSource.initialize();
      return options.dataSource;
    }
    const url = options.url!;
    const dataSource = newDataSource({ type: 'postgres', url: toNodePostgresUrl(url), applicationName: 'nestjs-celery outbox relay' }, OUTBOX);
    try {
      await dataSource.initialize();
    } catch (error) {
      throw new OutboxConnectionError(
        `Could not connect to the outbox database at ${maskUrl(url)}: ${describeDatabaseError(error)}. Expected a reachable PostgreSQL server; check the outbox url.`,
        { cause: error },
      );
    }
    this.ownDataSource = dataSource;
    return dataSource;
  }

  private async createTable(dataSource: DataSource): Promise<void> {
    try {
      await runCeleryMigrations(dataSource, celeryOutboxMigrations);
    } catch (error) {
      throw new OutboxConnectionError(
        `Could not create the ${OutboxTableNames.table} table: ${describeDatabaseError(error)}. ${migrationsAdvice('outbox.migrationsRun')}`,
        { cause: error },
      );
    }
  }
}
