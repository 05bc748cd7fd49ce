import type { DataSource } from 'typeorm';
import type { RevokedTaskStore } from '../revoked-task-store.interface';
import type { BackendCapabilities } from '../backend-capabilities';
import { ResultBackendConfigurationError } from '../../errors/result-backend-configuration.error';
import { ResultBackendConnectionError } from '../../errors/result-backend-connection.error';
import { ResultStoreError } from '../../errors/result-store.error';
import { formatNaiveUtc, parseCeleryDate } from '../../protocol/celery-time';
import { TaskResultMeta } from '../../protocol/result-meta';
import { CeleryLogger, SILENT_LOGGER } from '../../utils/logger';
import { maskUrl } from '../../utils/mask-secrets';
import { ChordCounterStore } from '../chord-counter-store.interface';
import { GroupResultStore, SavedGroup } from '../group-result-store.interface';
import { ResultBackend, WaitOptions } from '../result-backend.interface';
import { POLLING_CHANGE_SOURCE, ResultChangeSource } from '../result-change-source';
import { ResultExpiryScheduler } from '../result-expiry-scheduler';
import { retryWhileUnavailable } from '../retry-while-unavailable';
import { GroupCommit } from '../group-commit';
import { READY_STATES } from '../../protocol/task-states';
import { buildStoreResultsSql, notifyChunks, toRowsParameter } from './store-results-sql';
import { waitForReadyResult } from '../wait-for-ready-result';
import { DatabaseBackendOptions, resolveDatabaseBackendOptions, ResolvedDatabaseBackendOptions } from './database-backend-options';
import { acquireEmbeddedDataSource, describeDataDir, requireEmbeddedPackages } from './embedded-data-source';
import { pickleGroupResult, unpickleGroupResult } from './group-result-pickle';
import { describeDatabaseError, isMissingSchemaError, isTransientPostgresError } from './postgres-errors';
import { buildResultTableSql, ResultTableSql } from './result-table-sql';
import { asBuffer, fromTaskResultRow, TaskResultRow, toStoreRow } from './task-result-row';
import { CHORD_COUNTER_SQL } from './chord-counter-sql';
import { REVOKED_TASK_SQL } from './revoked-task-sql';
import { openUrlDataSource } from './url-data-source';
import { celeryResultSchema } from './celery-result-schema';
import { migrationsAdvice, runCeleryMigrations } from './migrations/run-celery-migrations';
import { PostgresResultListener } from './postgres-result-listener';
import { listenConnectionFor } from './listen-connection';
import { assertCeleryEntitiesRegistered, verifyCeleryTables } from './verify-celery-tables';
import { requireOptionalPackages } from '../../utils/optional-package';

/** Rows deleted per expiry statement: short row locks, few round trips. */
const EXPIRY_BATCH_SIZE = 5_000;

/** First pause of `waitForResult`: a result written a moment later is seen a moment later. */
const WAIT_INITIAL_DELAY_MS = 2;

/** Most states written in one statement (one transaction's row locks, one NOTIFY's worth of ids or a few). */
const MAX_STORE_BATCH = 200;

/** A state waiting for its batch, its row already encoded. */
interface PendingStore {
  meta: TaskResultMeta;
  /** Its row of the store statement's JSON parameter (`toStoreRow`). */
  row: string;
}

/** The DataSource in use and how to let go of it on close. */
interface ConnectedDataSource {
  dataSource: DataSource;
  /** Destroys a DataSource we created; releases the embedded one; leaves the application's alone. */
  release(): Promise<void>;
}

/**
 * Celery's database result backend (`result_backend = 'db+postgresql://…'`,
 * `celery.backends.database.DatabaseBackend`) over TypeORM: results live in Celery's own
 * `celery_taskmeta` table, so Python clients and workers read what we write and the reverse.
 * Also runs in process on PGlite (`embedded`), and on the application's own DataSource.
 *
 * It joins chords without polling (ChordCounterStore, our `celery_chord_counters`), and is the
 * workers' revoked-task store: revoked ids go to our own `celery_revoked_tasks`
 * table (which Python Celery ignores), so they survive restarts and reach every worker of this
 * module sharing the database.
 */
export class DatabaseResultBackend implements ResultBackend, GroupResultStore, RevokedTaskStore, ChordCounterStore {
  readonly description: string;
  readonly capabilities: BackendCapabilities = { readsBack: true, chordCounter: this, groupStore: this, revokedStore: this, postgres: this };
  private readonly settings: ResolvedDatabaseBackendOptions;
  private readonly sql: ResultTableSql;
  private readonly logger: CeleryLogger;
  private readonly expiry: ResultExpiryScheduler;
  /** `waitForResult` asks it when to read again: LISTEN/NOTIFY on a PostgreSQL server, polling on PGlite. */
  private readonly changes: ResultChangeSource;
  private readonly listener: PostgresResultListener | null;
  private connected: ConnectedDataSource | null = null;
  private connecting: Promise<void> | null = null;
  /** Stores still running (possibly retrying) are in here until written; `close()` waits for them. */
  private readonly writes = new GroupCommit<PendingStore>((batch) => this.writeBatch(batch), MAX_STORE_BATCH);
  /**
   * Sent unnamed, so PostgreSQL plans it with each batch's values. Not a named prepared statement:
   * a generic plan cached while celery_taskmeta was small (a hash join over a sequential scan) stays
   * cached as the table grows, and each batch then reads the whole table — measured at 480,000 rows:
   * 1,274 rows/s, where the 20,000-task drain with results ran at 7,600 tasks/s.
   */
  private readonly storeSql: string;

  constructor(private readonly options: DatabaseBackendOptions = {}) {
    const sources = [options.url, options.dataSource, options.embedded].filter((source) => source !== undefined);
    if (sources.length > 1) {
      throw new ResultBackendConfigurationError(
        'The database result backend got more than one of `url`, `dataSource` and `embedded`. ' +
          'Expected at most one: a PostgreSQL URL, your own DataSource, or the embedded database.',
      );
    }
    const listen = listenConnectionFor(options);
    // TypeORM, node-postgres (for LISTEN) and PGlite (embedded) are optional peers: missing ones fail here, at start-up.
    if (options.url === undefined && options.dataSource === undefined) requireEmbeddedPackages();
    else requireOptionalPackages(listen === null ? ['typeorm'] : ['typeorm', 'pg'], 'The PostgreSQL result backend');
    this.settings = resolveDatabaseBackendOptions(options);
    this.sql = buildResultTableSql();
    this.storeSql = buildStoreResultsSql(this.settings.extended);
    this.logger = options.logger ?? SILENT_LOGGER;
    this.description = describeSource(options);
    this.listener = listen === null ? null : new PostgresResultListener(listen, this.description, this.logger);
    this.changes = this.listener ?? POLLING_CHANGE_SOURCE;
    this.expiry = new ResultExpiryScheduler(this, this.settings.resultExpiresSeconds, this.settings.cleanupIntervalMs, this.logger);
  }

  /** Opens the database (creating or completing Celery's tables as configured) and starts expiry. */
  async connect(): Promise<void> {
    if (this.connected) return;
    this.connecting ??= this.open().finally(() => {
      this.connecting = null;
    });
    await this.connecting;
  }

  private async open(): Promise<void> {
    const connected = await this.openDataSource();
    try {
      await verifyCeleryTables(connected.dataSource);
    } catch (error) {
      await connected.release();
      throw error;
    }
    this.connected = connected;
    this.expiry.start();
    this.logger.debug?.(`Result backend connected: ${this.description}`);
  }

  private async openDataSource(): Promise<ConnectedDataSource> {
    const { url, dataSource, embedded } = this.options;
    if (dataSource) {
      if (!dataSource.isInitialized) await dataSource.initialize();
      assertCeleryEntitiesRegistered(dataSource);
      if (this.settings.migrationsRun) await this.migrateApplicationDataSource(dataSource);
      return { dataSource, release: async () => undefined };
    }
    if (url !== undefined) {
      const own = await openUrlDataSource(url, { ...this.settings, logger: this.logger });
      return { dataSource: own, release: () => own.destroy() };
    }
    const lease = await acquireEmbeddedDataSource(embedded?.dataDir);
    return { dataSource: lease.dataSource, release: () => lease.release() };
  }

  /**
   * Our migrations on the app's DataSource, recorded in celery_migrations: through its own
   * `migrations` list they would land in its `migrations` table and break its `undoLastMigration()`.
   */
  private async migrateApplicationDataSource(dataSource: DataSource): Promise<void> {
    try {
      // Loaded now, not when nestjs-celery is imported: the migration classes need TypeORM.
      await runCeleryMigrations(dataSource, celeryResultSchema().migrations);
    } catch (error) {
      throw new ResultBackendConnectionError(
        `Could not prepare Celery's result tables in ${this.description}: ${describeDatabaseError(error)}. ${migrationsAdvice('migrationsRun')}`,
        { cause: error },
      );
    }
  }

  /**
   * Writes one state of a task, overwriting the previous one as Celery does (no guard against
   * overwriting SUCCESS). States stored at about the same time share one statement and one commit
   * (GroupCommit); the promise resolves once this state is committed, so an acksLate ack that
   * follows it never precedes the row. Retries while PostgreSQL is unreachable, for at most
   * `storeRetryTimeoutMs`; then throws ResultStoreError: a result is never dropped silently.
   */
  storeResult(meta: TaskResultMeta): Promise<void> {
    let pending: PendingStore;
    try {
      this.dataSource();
      pending = { meta, row: toStoreRow(meta, this.settings.extended) };
    } catch (error) {
      return Promise.reject(error); // not connected, or a value that cannot be encoded: this caller only
    }
    return this.writes.add(pending);
  }

  /** One GroupCommit batch: one statement for all, or, if the database refuses it, one per state. */
  private async writeBatch(batch: PendingStore[]): Promise<(unknown | undefined)[]> {
    // A task stored twice in one batch (STARTED then SUCCESS): only its latest state is written.
    const latest = new Map<string, PendingStore>();
    for (const pending of batch) latest.set(pending.meta.taskId, pending);
    const unique = [...latest.values()];
    let failure = await this.storeMany(unique).then(() => undefined, (error: unknown) => error ?? new Error('store failed'));
    const failures = new Map<string, unknown>();
    if (failure !== undefined && unique.length > 1 && !isTransientPostgresError(failure) && !(failure instanceof ResultBackendConnectionError)) {
      // One bad value must not fail its neighbours: each state alone, each with its own error.
      for (const pending of unique) {
        const error = await this.storeMany([pending]).then(() => undefined, (caught: unknown) => caught ?? new Error('store failed'));
        if (error !== undefined) failures.set(pending.meta.taskId, error);
      }
      failure = undefined;
    }
    return batch.map((pending) => {
      const error = failure ?? failures.get(pending.meta.taskId);
      if (error === undefined) return undefined;
      return error instanceof ResultBackendConnectionError ? error : this.storeError(pending.meta, error);
    });
  }

  private async storeMany(stores: PendingStore[]): Promise<void> {
    const chunks = notifyChunks(
      stores.map((pending) => pending.meta.taskId),
      stores.map((pending) => READY_STATES.has(pending.meta.status)),
    );
    const parameters = [toRowsParameter(stores.map((pending) => pending.row)), chunks];
    await retryWhileUnavailable(() => this.dataSource().query(this.storeSql, parameters), {
      timeoutMs: this.settings.storeRetryTimeoutMs,
      isTransient: isTransientPostgresError,
      onRetry: (error, attempt, delayMs) =>
        this.logger.warn(`Storing ${describeStates(stores)} failed (${describeDatabaseError(error)}); retry ${attempt} in ${delayMs} ms`),
    });
  }

  private storeError(meta: TaskResultMeta, error: unknown): ResultStoreError {
    const advice = isTransientPostgresError(error)
      ? `Check that the database is running and reachable; the store was retried for ${this.settings.storeRetryTimeoutMs} ms.`
      : isMissingSchemaError(error)
        ? "Celery's tables are missing or incomplete: run celeryResultMigrations."
        : 'The database refused the values; check them against the column types of celery_taskmeta (names are at most 155 characters).';
    return new ResultStoreError(
      `Could not store the ${meta.status} state of task ${meta.taskId} in ${this.description}: ` +
        `${describeDatabaseError(error)}. The state was not stored. ${advice}`,
      { cause: error },
    );
  }

  /** The latest stored state (one indexed SELECT), or null for an unknown task (Celery's PENDING). */
  async getResult(taskId: string): Promise<TaskResultMeta | null> {
    const rows = await this.run<TaskResultRow>(this.sql.selectResult, [taskId], `read the result of task ${taskId}`);
    return rows.length === 0 ? null : fromTaskResultRow(taskId, rows[0]);
  }

  /** Polls until the task is ready; see `waitForReadyResult` for timeout and abort behaviour. */
  waitForResult(taskId: string, options?: WaitOptions): Promise<TaskResultMeta> {
    return waitForReadyResult(
      taskId,
      this.readerThroughOutages(),
      this.changes,
      { initialDelayMs: WAIT_INITIAL_DELAY_MS, maxDelayMs: this.settings.pollIntervalMs },
      options,
    );
  }

  /**
   * Reads for one wait: the database being briefly away does not end the wait (it goes on until
   * its timeout), and is logged once per outage rather than once per poll.
   */
  private readerThroughOutages(): (taskId: string) => Promise<TaskResultMeta | null | undefined> {
    let inOutage = false;
    return async (taskId) => {
      try {
        const meta = await this.getResult(taskId);
        inOutage = false;
        return meta;
      } catch (error) {
        if (!(error instanceof ResultBackendConnectionError && isTransientPostgresError(error.cause))) throw error;
        if (!inOutage) this.logger.warn(`Still waiting for task ${taskId}: ${error.message}`);
        inOutage = true;
        return undefined;
      }
    };
  }

  /**
   * Woken by LISTEN/NOTIFY: our writer's for ready states, and the progress trigger's for custom
   * states (PROGRESS) and the state that follows one, whoever wrote them (Python too). Polls on
   * PGlite and while the LISTEN connection is down.
   */
  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    return this.changes.waitForChange(taskId, maxWaitMs, signal);
  }

  /** Deletes the task's row (Celery's `AsyncResult.forget()`). */
  async forget(taskId: string): Promise<void> {
    await this.run(this.sql.deleteResult, [taskId], `forget task ${taskId}`);
  }

  /**
   * Deletes ready results and saved groups whose `date_done` is before `olderThan` (Celery's
   * `celery.backend_cleanup`), in batches; returns how many rows went.
   */
  async deleteExpired(olderThan: Date): Promise<number> {
    const cutoff = formatNaiveUtc(olderThan);
    let deleted = 0;
    for (const statement of [this.sql.deleteExpiredResultsBatch, this.sql.deleteExpiredGroupsBatch]) {
      for (;;) {
        const [row] = await this.run<{ deleted: number }>(statement, [cutoff, EXPIRY_BATCH_SIZE], 'delete expired results');
        deleted += row.deleted;
        if (row.deleted < EXPIRY_BATCH_SIZE) break;
      }
    }
    return deleted;
  }

  /** Saves a group as Python's `GroupResult.save()` does, readable by `GroupResult.restore(id)`. */
  async saveGroup(groupId: string, childIds: readonly string[]): Promise<void> {
    const parameters = [groupId, pickleGroupResult(groupId, childIds), formatNaiveUtc(new Date())];
    await this.run(this.sql.saveGroup, parameters, `save group ${groupId}`);
  }

  /** A group saved by us or by Python's `GroupResult.save()`, or null. */
  async getGroup(groupId: string): Promise<SavedGroup | null> {
    const rows = await this.run<{ result: Uint8Array | null; date_done: string | null }>(
      this.sql.selectGroup,
      [groupId],
      `read group ${groupId}`,
    );
    const bytes = rows.length === 0 ? null : asBuffer(rows[0].result);
    if (bytes === null) return null;
    return {
      groupId,
      childIds: unpickleGroupResult(groupId, bytes),
      dateDone: rows[0].date_done === null ? null : parseCeleryDate(rows[0].date_done),
    };
  }

  /** Deletes a saved group (Celery's `GroupResult.delete()`); its tasks' results stay. */
  async forgetGroup(groupId: string): Promise<void> {
    await this.run(this.sql.deleteGroup, [groupId], `forget group ${groupId}`);
  }

  /** Starts counting a chord (ChordCounterStore); the header is published after this. */
  async createChordCounter(groupId: string, headerIds: readonly string[]): Promise<void> {
    await this.run(CHORD_COUNTER_SQL.create, [groupId, [...headerIds]], `start counting chord ${groupId}`);
  }

  /** Counts a finished header task in one atomic statement; the header ids to the call that completed it. */
  async countChordPart(groupId: string, taskId: string): Promise<string[] | null> {
    const rows = await this.run<{ header_ids: string[] | null }>(CHORD_COUNTER_SQL.count, [groupId, taskId], `count task ${taskId} of chord ${groupId}`);
    return rows[0]?.header_ids ?? null;
  }

  async deleteChordCounter(groupId: string): Promise<void> {
    await this.run(CHORD_COUNTER_SQL.deleteParts, [groupId], `forget chord ${groupId}`);
    await this.run(CHORD_COUNTER_SQL.deleteCounter, [groupId], `forget chord ${groupId}`);
  }

  /** Many results in one SELECT (a chord's header), in the order asked. */
  async getResults(taskIds: readonly string[]): Promise<(TaskResultMeta | null)[]> {
    const rows = await this.run<TaskResultRow & { task_id: string }>(this.sql.selectResults, [[...taskIds]], `read the results of ${taskIds.length} tasks`);
    const byId = new Map(rows.map((row) => [row.task_id, row]));
    return taskIds.map((id) => {
      const row = byId.get(id);
      return row ? fromTaskResultRow(id, row) : null;
    });
  }

  /**
   * Task ids revoked at or after `since`, oldest first (RevokedTaskStore, read by a starting
   * worker). Older rows are deleted on the way: no worker refuses them any more.
   */
  async loadRevoked(since: Date): Promise<string[]> {
    const rows = await this.run<{ task_id: string }>(REVOKED_TASK_SQL.loadAndPurge, [since.toISOString()], 'load the revoked task ids');
    return rows.map((row) => row.task_id);
  }

  /** Records revoked ids in one upsert (RevokedTaskStore); revoking an id again renews its time. */
  async saveRevoked(ids: readonly string[], at: Date): Promise<void> {
    if (ids.length === 0) return;
    await this.run(REVOKED_TASK_SQL.save, [[...ids], at.toISOString()], `record the revoked task ids ${ids.join(', ')}`);
  }

  /** One `SELECT 1` through the pool. */
  async ping(): Promise<void> {
    await this.run('SELECT 1', [], 'reach the database');
  }

  /** Stops expiry, waits for stores in flight, and closes what `connect()` opened. */
  async close(): Promise<void> {
    await this.connecting?.catch(() => undefined);
    await this.expiry.stop();
    await this.listener?.close();
    await this.writes.idle();
    const connected = this.connected;
    this.connected = null;
    await connected?.release();
  }

  /**
   * The connected DataSource, for extensions that keep tables of their own next to Celery's (the
   * dashboard's task history). Throws when not connected.
   */
  get connectedDataSource(): DataSource {
    return this.dataSource();
  }

  private dataSource(): DataSource {
    if (!this.connected) {
      throw new ResultBackendConnectionError(
        `The result backend (${this.description}) is not connected. Call connect() before using it, and not after close().`,
      );
    }
    return this.connected.dataSource;
  }

  /** Runs one statement; failures become our errors with masked, actionable messages. */
  private async run<Row>(sql: string, parameters: unknown[], action: string): Promise<Row[]> {
    const dataSource = this.dataSource();
    try {
      return await dataSource.query(sql, parameters);
    } catch (error) {
      if (isMissingSchemaError(error)) {
        throw new ResultBackendConfigurationError(
          `Could not ${action}: ${describeDatabaseError(error)}. Expected Celery's result tables; run celeryResultMigrations.`,
          { cause: error },
        );
      }
      throw new ResultBackendConnectionError(
        `Could not ${action} in ${this.description}: ${describeDatabaseError(error)}. ` +
          'Check that the database is running and reachable.',
        { cause: error },
      );
    }
  }
}

/** For logs: the one state, or how many and the first task. */
function describeStates(stores: PendingStore[]): string {
  const [first] = stores;
  return stores.length === 1
    ? `the ${first.meta.status} state of task ${first.meta.taskId}`
    : `${stores.length} task states (task ${first.meta.taskId} and others)`;
}

function describeSource(options: DatabaseBackendOptions): string {
  if (options.url !== undefined) return maskUrl(options.url);
  if (options.dataSource) return `the application's DataSource (${options.dataSource.options.type})`;
  return describeDataDir(options.embedded?.dataDir);
}
