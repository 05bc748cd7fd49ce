import { AppModule } from './app.module';

/**
 * The sample's worker role as a module the worker CLI can boot:
 * `nestjs-celery-worker --module dist/sample-app/src/worker.module.js --export WorkerModule -Q celery -c 8`.
 * Built when this file is loaded, which the CLI does after it has put its flags in the environment.
 */
export const WorkerModule = AppModule.forRole({ api: false, worker: true });
