import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryModule } from 'nestjs-celery';

/** Redis configured in an app without ioredis (an optional peer): start-up must fail, saying what to install. */
@Module({ imports: [CeleryModule.forRoot({ broker: 'redis://127.0.0.1:6379/0' })] })
class RedisAppModule {}

NestFactory.createApplicationContext(RedisAppModule, { logger: false, abortOnError: false }).then(
  async (app) => {
    await app.close();
    console.log('started without ioredis');
    process.exit(1);
  },
  (error: Error) => console.log(`${error.name}: ${error.message}`),
);
