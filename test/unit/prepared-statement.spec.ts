import type { DataSource } from 'typeorm';
import { PreparedStatement } from '../../lib/backend/database/prepared-statement';

/** A DataSource shaped like TypeORM's: options, a driver whose `master` is node-postgres's pool, and query(). */
function dataSourceWith(
  options: { type: string; driver?: unknown },
  clientQuery: (call: { config: unknown; emitError(error: Error): void }) => Promise<unknown>,
) {
  const unnamed: unknown[][] = [];
  const named: unknown[] = [];
  const released: unknown[] = [];
  const pool = {
    connect(callback: (error: Error | undefined, client: unknown, release: (error?: unknown) => void) => void) {
      const listeners = new Set<(error: Error) => void>();
      const client = {
        on: (_event: 'error', listener: (error: Error) => void) => listeners.add(listener),
        removeListener: (_event: 'error', listener: (error: Error) => void) => listeners.delete(listener),
        query: (config: unknown) => {
          named.push(config);
          return clientQuery({ config, emitError: (error: Error) => listeners.forEach((listener) => listener(error)) });
        },
      };
      callback(undefined, client, (error?: unknown) => released.push(error));
    },
  };
  const dataSource = {
    options,
    driver: { master: pool },
    query: async (text: string, values: unknown[]) => unnamed.push([text, values]),
  } as unknown as DataSource;
  return { dataSource, unnamed, named, released };
}

describe('PreparedStatement', () => {
  it('runs by name on node-postgres’s pool and gives the connection back', async () => {
    const { dataSource, unnamed, named, released } = dataSourceWith({ type: 'postgres' }, async () => ({ rows: [] }));
    await new PreparedStatement('store', 'SELECT $1').run(dataSource, [1]);
    expect(named).toEqual([{ name: 'store', text: 'SELECT $1', values: [1] }]);
    expect(unnamed).toEqual([]);
    expect(released).toEqual([undefined]);
  });

  it('goes through DataSource.query() on another driver (PGlite)', async () => {
    const { dataSource, unnamed, named } = dataSourceWith({ type: 'postgres', driver: {} }, async () => ({ rows: [] }));
    await new PreparedStatement('store', 'SELECT $1').run(dataSource, [1]);
    expect(named).toEqual([]);
    expect(unnamed).toEqual([['SELECT $1', [1]]]);
  });

  it('falls back to unnamed for good when the server lost the statement (26000, PgBouncer)', async () => {
    const lost = Object.assign(new Error('prepared statement "store" does not exist'), { code: '26000', severity: 'ERROR' });
    const { dataSource, unnamed, named, released } = dataSourceWith({ type: 'postgres' }, async () => Promise.reject(lost));
    const statement = new PreparedStatement('store', 'SELECT $1');
    await statement.run(dataSource, [1]);
    await statement.run(dataSource, [2]);
    expect(named).toHaveLength(1);
    expect(unnamed).toEqual([['SELECT $1', [1]], ['SELECT $1', [2]]]);
    expect(released).toEqual([undefined]); // a statement error leaves the connection usable
  });

  it('rethrows other errors, and drops a connection that failed underneath from the pool', async () => {
    const reset = Object.assign(new Error('Connection terminated unexpectedly'), {});
    const { dataSource, released } = dataSourceWith({ type: 'postgres' }, async () => Promise.reject(reset));
    await expect(new PreparedStatement('store', 'SELECT 1').run(dataSource, [])).rejects.toBe(reset);
    expect(released).toEqual([reset]);

    const refused = Object.assign(new Error('value too long'), { code: '22001', severity: 'ERROR' });
    const second = dataSourceWith({ type: 'postgres' }, async () => Promise.reject(refused));
    await expect(new PreparedStatement('store', 'SELECT 1').run(second.dataSource, [])).rejects.toBe(refused);
    expect(second.released).toEqual([undefined]);
  });

  it('catches an error event of the checked-out connection and drops that connection', async () => {
    const reset = new Error('read ECONNRESET');
    const refused = Object.assign(new Error('terminating connection due to administrator command'), { code: '57P01', severity: 'FATAL' });
    const { dataSource, released } = dataSourceWith({ type: 'postgres' }, async ({ emitError }) => {
      emitError(reset); // with no listener, an EventEmitter would throw this
      throw refused;
    });
    await expect(new PreparedStatement('store', 'SELECT 1').run(dataSource, [])).rejects.toBe(refused);
    expect(released).toEqual([reset]);
  });
});
