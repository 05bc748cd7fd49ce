import { AppModule } from './app.module';

/**
 * The sample's worker role as a module the worker CLI can boot:
 * `nestjs-celery-worker --module dist/sample-app/src/worker.module.js --export WorkerModule -Q celery -c 8`.
 * Its options come from the environment (celery-settings.ts); the CLI's flags win over them.
 */
export const WorkerModule = AppModule.forRole({ api: false, worker: true });
