import type { Client, ClientConfig } from 'pg';
import { ReconnectBackoff } from '../../broker/amqp/reconnect-backoff';
import { CeleryLogger } from '../../utils/logger';
import { loadOptionalPackage } from '../../utils/optional-package';
import { RecencyTable } from '../../utils/recency-table';
import { ResultChangeSource, sleep } from '../result-change-source';
import { TaskChangeNotifier } from '../rpc/task-change-notifier';
import { TASK_PROGRESS_CHANNEL } from './celery-table-names';
import { describeDatabaseError } from './postgres-errors';
import { RESULT_READY_CHANNEL } from './store-results-sql';
import { CONNECT_TIMEOUT_MS } from './url-data-source';

/** Notified ids remembered for a wait that starts just after the NOTIFY (the read/wait race). */
const RECENT_LIMIT = 10_000;

/**
 * A ResultChangeSource over PostgreSQL LISTEN/NOTIFY: one dedicated connection per backend
 * LISTENs on the channel our writer NOTIFYs with ready states (store-results-sql.ts) and on the
 * one the progress triggers NOTIFY with custom states (PROGRESS) and the state after one
 * (NotifyCeleryTaskProgress), and wakes the `get()` and `watch()` calls waiting on those tasks at
 * once instead of at their next poll. Celery's database backend only polls. Python writers'
 * ready states of plain tasks are not NOTIFYed, so each wait still ends after the poll delay it
 * was given; and while the connection is down (it reconnects with backoff) waits are plain polls.
 *
 * Started by the first wait, so workers and producers that never call `get()` hold no extra
 * connection.
 */
export class PostgresResultListener implements ResultChangeSource {
  private readonly waiters = new TaskChangeNotifier();
  /**
   * Ids notified lately: a wait that begins after its NOTIFY still ends at once. A RecencyTable, not
   * a Set in insertion order, whose churn (an add and a delete per task) made V8 chain its obsolete
   * tables and the ids in them into old space (lib/utils/in-flight-set.ts).
   */
  private readonly recent = new RecencyTable<true>(RECENT_LIMIT);
  private client: Client | null = null;
  private listening = false;
  private started = false;
  private closed = false;
  private reconnectTimer: NodeJS.Timeout | null = null;
  private readonly backoff = new ReconnectBackoff(100, 5_000);
  /** node-postgres, an optional peer dependency: loaded with the backend, so a missing one fails at start-up. */
  private readonly ClientClass: typeof Client = loadOptionalPackage<typeof import('pg')>('pg', 'The PostgreSQL result backend').Client;

  constructor(
    private readonly connection: ClientConfig,
    private readonly description: string,
    private readonly logger: CeleryLogger,
  ) {}

  waitForChange(taskId: string, maxWaitMs: number, signal?: AbortSignal): Promise<void> {
    if (!this.started) this.start();
    if (!this.listening) return sleep(maxWaitMs, signal);
    if (this.recent.delete(taskId)) {
      signal?.throwIfAborted();
      return Promise.resolve();
    }
    return this.waiters.waitForChange(taskId, maxWaitMs, signal);
  }

  /** True once LISTEN is in place (tests wait for it). */
  get isListening(): boolean {
    return this.listening;
  }

  /** Starts listening (done by the first wait; callable earlier). */
  start(): void {
    if (this.started || this.closed) return;
    this.started = true;
    void this.connect();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.listening = false;
    if (this.reconnectTimer) clearTimeout(this.reconnectTimer);
    this.waiters.notifyAll();
    const client = this.client;
    this.client = null;
    await client?.end().catch(() => undefined);
  }

  private async connect(): Promise<void> {
    const client = new this.ClientClass({ ...this.connection, application_name: 'nestjs-celery result listener', connectionTimeoutMillis: CONNECT_TIMEOUT_MS });
    client.on('notification', (message) => this.onNotification(message.payload));
    client.on('error', (error) => this.lost(client, error));
    client.on('end', () => this.lost(client, new Error('connection ended')));
    this.client = client;
    try {
      await client.connect();
      await client.query(`LISTEN ${RESULT_READY_CHANNEL}; LISTEN ${TASK_PROGRESS_CHANNEL}`);
    } catch (error) {
      this.lost(client, error);
      return;
    }
    if (this.closed || this.client !== client) return;
    this.listening = true;
    this.backoff.reset();
    // Writes made while we were not listening were not heard: every waiter reads again now.
    this.waiters.notifyAll();
  }

  private onNotification(payload: string | undefined): void {
    let ids: unknown;
    try {
      ids = JSON.parse(payload ?? '[]');
    } catch {
      return; // not ours: someone else NOTIFYing on the channel
    }
    if (!Array.isArray(ids)) return;
    for (const id of ids) {
      if (typeof id !== 'string') continue;
      this.recent.set(id, true);
      this.waiters.notify(id);
    }
  }

  private lost(client: Client, error: unknown): void {
    if (this.client !== client) return; // an old connection's late event
    this.client = null;
    this.listening = false;
    client.removeAllListeners('notification');
    client.on('error', () => undefined); // later errors of a dead client must not crash the process
    void client.end().catch(() => undefined);
    if (this.closed) return;
    const delayMs = this.backoff.next();
    this.logger.warn(
      `Listening for results in ${this.description} failed (${describeDatabaseError(error)}); waits poll meanwhile, retrying in ${delayMs} ms`,
    );
    this.reconnectTimer = setTimeout(() => {
      this.reconnectTimer = null;
      if (!this.closed) void this.connect();
    }, delayMs);
  }
}
