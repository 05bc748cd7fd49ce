import { NestFactory } from '@nestjs/core';
import { CeleryWorker } from 'nestjs-celery';
import { AppModule } from './app.module.js';

/** A worker process: the app's module, no HTTP; consuming once bootstrapped. */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule, { logger: ['error', 'warn'] });
  app.enableShutdownHooks();
  console.log(`worker ready: ${app.get(CeleryWorker).isRunning}`);
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
