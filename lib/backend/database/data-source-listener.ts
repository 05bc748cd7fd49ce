import type { DataSource } from 'typeorm';

/** node-postgres' client, as much of it as LISTEN needs. */
interface ListeningClient {
  query(sql: string): Promise<unknown>;
  on(event: string, listener: (...args: unknown[]) => void): void;
  off(event: string, listener: (...args: unknown[]) => void): void;
}

export interface ChannelHandlers {
  /** A NOTIFY arrived; its payload (the text given to pg_notify). */
  notified(payload: string): void;
  /** The connection broke: the listener is gone; listen again later (poll meanwhile). */
  lost(error: Error): void;
}

/** A LISTEN held on one pooled connection of a DataSource; `close()` gives the connection back. */
export interface ChannelListener {
  close(): Promise<void>;
}

/**
 * LISTENs on `channel` over a connection taken from the DataSource's own pool (node-postgres
 * only). Resolves null where there is no such connection to hold (the embedded PGlite, another
 * driver): the caller then polls only. The outbox relay and the beat listen this way.
 */
export async function listenOnDataSource(dataSource: DataSource, channel: string, handlers: ChannelHandlers): Promise<ChannelListener | null> {
  const driver = dataSource.driver as unknown as { obtainMasterConnection?: () => Promise<[ListeningClient, (error?: Error) => void]> };
  // A driver given to TypeORM (typeorm-pglite for the embedded database) is not node-postgres: poll only.
  const options = dataSource.options as { type: string; driver?: unknown };
  if (options.type !== 'postgres' || options.driver !== undefined || !driver.obtainMasterConnection) return null;
  const [client, release] = await driver.obtainMasterConnection();
  let open = true;
  const detach = () => {
    open = false;
    for (const [event, handler] of handlers_) client.off(event, handler);
  };
  const lost = (error?: unknown) => {
    if (!open) return;
    detach();
    client.on('error', () => undefined); // a late error of the discarded connection must not crash the process
    const reason = error instanceof Error ? error : new Error('connection ended');
    release(reason); // with its error: the pool discards it
    handlers.lost(reason);
  };
  const handlers_: [string, (...args: unknown[]) => void][] = [
    ['notification', (message) => {
      const notice = message as { channel?: string; payload?: string };
      if (notice.channel === undefined || notice.channel === channel) handlers.notified(notice.payload ?? '');
    }],
    ['error', lost],
    ['end', lost],
  ];
  for (const [event, handler] of handlers_) client.on(event, handler);
  try {
    await client.query(`LISTEN ${channel}`);
  } catch (error) {
    lost(error);
    throw error;
  }
  return {
    async close() {
      if (!open) return;
      detach();
      await client.query(`UNLISTEN ${channel}`).catch(() => undefined);
      release();
    },
  };
}
