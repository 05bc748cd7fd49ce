import 'reflect-metadata';
import { Module, type INestApplicationContext } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryClient, CeleryModule } from '../../lib';
import { onCleanup } from './cleanup';

/** A producer-only Nest application (no worker), as an API process sends tasks; closed at clean-up. */
export async function startProducer(brokerUrl: string, backend: false | string): Promise<{ client: CeleryClient; close: () => Promise<void> }> {
  const resolved =
    backend === false || backend === 'rpc://'
      ? backend
      : backend.startsWith('redis')
        ? { type: 'redis' as const, url: backend, resultExpiresSeconds: 0 }
        : { type: 'postgres' as const, url: backend, resultExpiresSeconds: 0 };
  @Module({ imports: [CeleryModule.forRoot({ broker: brokerUrl, backend: resolved, worker: false })] })
  class BenchProducerModule {}
  const app: INestApplicationContext = await NestFactory.createApplicationContext(BenchProducerModule, { logger: ['error', 'warn'] });
  const close = onCleanup('the producer application', () => app.close());
  return { client: app.get(CeleryClient), close };
}
