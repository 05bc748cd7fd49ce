/**
 * The script a process-pool child runs (forked by lib/worker/pool/pool-child.ts): it creates the
 * application's own module, named by the parent in the environment, so the tasks it runs have
 * their providers injected as in the worker; the runtime then serves the parent's jobs instead of
 * consuming (runtime-roles.ts). SIGTERM closes the application and ends the child.
 */
import { NestFactory } from '@nestjs/core';
import { resolve } from 'node:path';
import { POOL_CHILD_CHANNEL, POOL_EXPORT_ENV, POOL_MODULE_ENV } from './worker/pool/pool-child-channel';

async function main(): Promise<void> {
  const path = process.env[POOL_MODULE_ENV];
  const exportName = process.env[POOL_EXPORT_ENV] || 'AppModule';
  delete process.env[POOL_MODULE_ENV];
  delete process.env[POOL_EXPORT_ENV];
  (globalThis as Record<symbol, unknown>)[POOL_CHILD_CHANNEL] = true;
  try {
    if (!path) throw new Error(`${POOL_MODULE_ENV} is not set: this script is started by the process pool only`);
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const exports = require(resolve(path)) as Record<string, unknown>;
    const rootModule = exports[exportName];
    if (!rootModule) throw new Error(`${path} has no export "${exportName}" (it exports: ${Object.keys(exports).join(', ') || 'nothing'})`);
    const app = await NestFactory.createApplicationContext(rootModule as never, { logger: ['fatal', 'error', 'warn'], abortOnError: false });
    process.once('SIGTERM', () => void app.close().finally(() => process.exit(0)));
  } catch (error) {
    process.send?.({ type: 'boot-failed', error: (error as Error)?.message ?? String(error) });
    process.exit(1);
  }
}

void main();
