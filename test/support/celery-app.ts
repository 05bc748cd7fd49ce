import { INestApplicationContext, Module, Provider, Type } from '@nestjs/common';
import { Test } from '@nestjs/testing';
import { CeleryModule, CeleryModuleOptions } from '../../lib';

/** A Nest application context with CeleryModule and the given providers, initialised (worker started). */
export async function startCeleryApp(options: CeleryModuleOptions, providers: Provider[] = [], imports: Type[] = []): Promise<INestApplicationContext> {
  @Module({ imports: [CeleryModule.forRoot(options), ...imports], providers })
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
