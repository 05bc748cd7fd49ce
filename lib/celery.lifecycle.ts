import { BeforeApplicationShutdown, Inject, Injectable, OnApplicationBootstrap, OnApplicationShutdown } from '@nestjs/common';
import { CELERY_RUNTIME } from './celery.constants';
import type { CeleryRuntime } from './runtime/celery-runtime';

/**
 * Ties the runtime to Nest's lifecycle, as @nestjs/bullmq's registrar does: I/O starts at
 * application bootstrap (after the explorer registered every task, so roles are decided on the
 * app's real tasks), consuming stops and running tasks drain in beforeApplicationShutdown, and
 * connections close in onApplicationShutdown. Remember `app.enableShutdownHooks()` so SIGTERM
 * triggers this.
 */
@Injectable()
export class CeleryLifecycle implements OnApplicationBootstrap, BeforeApplicationShutdown, OnApplicationShutdown {
  constructor(@Inject(CELERY_RUNTIME) private readonly runtime: CeleryRuntime) {}

  onApplicationBootstrap(): Promise<void> {
    return this.runtime.start();
  }

  beforeApplicationShutdown(): Promise<void> {
    return this.runtime.drain();
  }

  onApplicationShutdown(): Promise<void> {
    return this.runtime.close();
  }
}
