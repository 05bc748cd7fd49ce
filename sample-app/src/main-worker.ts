import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

/** A worker process: `npm run start:worker`. Stops gracefully on SIGTERM / SIGINT. */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: true }));
  app.enableShutdownHooks();
}

void main();
