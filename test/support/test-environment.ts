import { createTestDatabase, TestDatabase } from './postgres';
import { deleteExchanges, deleteQueues, uniqueName } from './rabbitmq';

/** A task queue and a fresh PostgreSQL database of one test file's own, removed by dispose(). */
export interface TestEnvironment {
  queue: string;
  databaseUrl: string;
  /** Also removes these queues (and Celery's exchanges of the same names) on dispose(). */
  alsoRemove(...queues: string[]): void;
  dispose(): Promise<void>;
}

export async function createTestEnvironment(prefix: string): Promise<TestEnvironment> {
  const queue = uniqueName(prefix);
  const database: TestDatabase = await createTestDatabase(prefix.replace(/-/g, '_'));
  const queues = [queue];
  return {
    queue,
    databaseUrl: database.url,
    alsoRemove: (...more) => queues.push(...more),
    async dispose() {
      await deleteQueues(...queues);
      await deleteExchanges(...queues); // the direct exchange Celery declares with each queue
      await database.drop();
    },
  };
}
