/**
 * The floor under scenario 10's idle RSS rows: a Nest application context with an empty module
 * (what @nestjs/core and @nestjs/common load), and beside it an amqplib consumer on the queue —
 * the least a Nest app that consumes RabbitMQ holds in memory, without nestjs-celery. Our idle
 * worker's RSS minus this row is what nestjs-celery adds.
 */
import 'reflect-metadata';
import { Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { connect } from 'amqplib';

@Module({})
class EmptyModule {}

async function main(): Promise<void> {
  const { brokerUrl, queue } = JSON.parse(process.env.BENCH_NEST_FLOOR!) as { brokerUrl: string; queue: string };
  const app = await NestFactory.createApplicationContext(EmptyModule, { logger: false });
  const connection = await connect(brokerUrl);
  const channel = await connection.createChannel();
  await channel.prefetch(40, true);
  await channel.consume(queue, (message) => message && channel.ack(message), { noAck: false });
  process.on('SIGTERM', () => void connection.close().finally(() => app.close().finally(() => process.exit(0))));
}

main().catch((error) => {
  process.stderr.write(`Nest floor process failed: ${(error as Error).stack ?? String(error)}\n`);
  process.exit(1);
});
