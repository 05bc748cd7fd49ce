import { createTestDatabase, TestDatabase } from './postgres';
import { deleteExchanges, deleteQueues, uniqueName } from './rabbitmq';

/** A task queue and a fresh PostgreSQL database of one test file's own, removed by dispose(). */
export interface TestEnvironment {
  queue: string;
  databaseUrl: string;
  dispose(): Promise<void>;
}

export async function createTestEnvironment(prefix: string): Promise<TestEnvironment> {
  const queue = uniqueName(prefix);
  const database: TestDatabase = await createTestDatabase(prefix.replace(/-/g, '_'));
  return {
    queue,
    databaseUrl: database.url,
    async dispose() {
      await deleteQueues(queue);
      await deleteExchanges(queue); // the direct exchange Celery declares with each queue
      await database.drop();
    },
  };
}
