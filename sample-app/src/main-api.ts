import { NestFactory } from '@nestjs/core';
import { AppModule } from './app.module';

/** The HTTP API: `npm run start:api`, on PORT (default 3000). Sends tasks, runs none. */
async function main(): Promise<void> {
  const app = await NestFactory.create(AppModule.forRole({ api: true, worker: false }));
  app.enableShutdownHooks();
  await app.listen(Number(process.env.PORT ?? 3000));
}

void main();
