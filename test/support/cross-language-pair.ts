import type { INestApplicationContext, Provider } from '@nestjs/common';
import { CeleryClient } from '../../lib';
import { startCeleryApp } from './celery-app';
import { celeryDatabaseUrl } from './python-celery';
import { PythonWorker, startPythonWorker } from './python-worker';
import { RABBITMQ_URL, uniqueName } from './rabbitmq';
import { createTestEnvironment, TestEnvironment } from './test-environment';

/**
 * A Nest app and a Python Celery worker sharing one RabbitMQ and one PostgreSQL result database
 * (Celery's database backend, `db+postgresql://…` for Python): the setup of the cross-language
 * specs. The Nest worker consumes `env.queue`, the Python worker `pythonQueue`; `settings` are
 * what a Python client of the pair (runInteropClient) is configured with.
 */
export interface CrossLanguagePair {
  env: TestEnvironment;
  app: INestApplicationContext;
  celery: CeleryClient;
  python: PythonWorker;
  pythonQueue: string;
  settings: { resultBackend: string; defaultQueue: string };
  /** Stops the Python worker, closes the app, removes the database and queues. */
  stop(): Promise<void>;
}

/** Starts the pair; `pythonQueue` when the tasks must know it before (a decorator's closure), else a fresh one. */
export async function startCrossLanguagePair(prefix: string, providers: Provider[], pythonQueue = uniqueName(`${prefix}-py`)): Promise<CrossLanguagePair> {
  const env = await createTestEnvironment(prefix);
  env.alsoRemove(pythonQueue);
  const settings = { resultBackend: celeryDatabaseUrl(env.databaseUrl), defaultQueue: pythonQueue };
  let app: INestApplicationContext | undefined;
  let python: PythonWorker | undefined;
  const stop = async () => {
    await python?.stop();
    await app?.close();
    await env.dispose();
  };
  try {
    app = await startCeleryApp({ broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue }, providers);
    python = await startPythonWorker({ queues: [pythonQueue], ...settings });
  } catch (error) {
    await stop().catch(() => undefined);
    throw error;
  }
  return { env, app, celery: app.get(CeleryClient), python, pythonQueue, settings, stop };
}
