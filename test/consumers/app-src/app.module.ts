import { Module } from '@nestjs/common';
import { TypeOrmModule } from '@nestjs/typeorm';
import { DataSource } from 'typeorm';
import { CeleryModule } from 'nestjs-celery';
import { celeryResultEntities } from 'nestjs-celery/typeorm';
import { MathTasks } from './math.tasks.js';

/**
 * The README's @nestjs/typeorm recipe: Celery's entities in the app's own DataSource, and that
 * DataSource given to the result backend, whose migrations create the tables at start-up
 * (recorded in celery_migrations, not the app's table). CONSUMER_ROLE=producer makes a producer-only app.
 */
@Module({
  imports: [
    TypeOrmModule.forRoot({
      type: 'postgres',
      url: process.env.DATABASE_URL,
      entities: [...celeryResultEntities],
    }),
    CeleryModule.forRootAsync({
      inject: [DataSource],
      useFactory: (dataSource: DataSource) => ({
        broker: process.env.BROKER_URL,
        backend: { type: 'postgres', dataSource },
        defaultQueue: process.env.QUEUE,
        worker: process.env.CONSUMER_ROLE === 'producer' ? false : { concurrency: 2, hostname: `consumer-${process.pid}@%h` },
      }),
    }),
  ],
  providers: [MathTasks],
})
export class AppModule {}
