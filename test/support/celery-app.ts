import { randomBytes } from 'node:crypto';
import { INestApplicationContext, Module, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CeleryModule, CeleryModuleOptions } from '../../lib';

/** A Nest application context with CeleryModule and the given providers, initialised (worker started). */
export async function startCeleryApp(options: CeleryModuleOptions, providers: Provider[] = [], imports: Type[] = []): Promise<INestApplicationContext> {
  @Module({ imports: [CeleryModule.forRoot(withOwnNodeName(options)), ...imports], providers })
  class TestAppModule {}
  const moduleRef = await Test.createTestingModule({ imports: [TestAppModule] }).compile();
  const app = moduleRef.createNestApplication({ logger: process.env.TEST_LOGS ? undefined : false });
  try {
    await app.init();
  } catch (error) {
    await app.close().catch(() => undefined); // connections opened before the failure must not outlive the test
    throw error;
  }
  return app;
}

/** Polls `check` until it returns a value that is not undefined, or fails after `timeoutMs`. */
export async function eventually<T>(check: () => Promise<T | undefined> | T | undefined, timeoutMs = 10_000, what = 'condition'): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`Timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

/**
 * Test files run side by side on one broker: two workers under the default `celery@<host>` would
 * share one auto-delete pidbox queue (remote control), which one may delete between the other's
 * declare and consume. A worker without a node name gets one of its own, as separate deployments
 * have. Such a worker also starts without Mingle (its hello waits a second for answers, and a name
 * of its own is never taken), as the Python test workers run `--without-mingle`.
 */
function withOwnNodeName(options: CeleryModuleOptions): CeleryModuleOptions {
  if (options.worker === false || options.worker?.hostname) return options;
  return { ...options, worker: { mingle: false, ...options.worker, hostname: `test-${randomBytes(4).toString('hex')}@%h` } };
}
