import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

/**
 * A beat process (`celery beat`'s counterpart): `npm run start:beat`. Run as many as you like on
 * one database; each due run is fired once. Stops gracefully on SIGTERM / SIGINT.
 */
async function main(): Promise<void> {
  const app = await NestFactory.createApplicationContext(AppModule.forRole({ api: false, worker: false, beat: true }));
  app.enableShutdownHooks();
}

void main();
