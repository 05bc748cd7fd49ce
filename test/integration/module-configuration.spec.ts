import { Module } from '@nestjs/common';
import { ConfigModule, ConfigService } from '@nestjs/config';
import { Test } from '@nestjs/testing';
import { CeleryClient, CeleryModule, CeleryTask, defineTask } from '../../lib';
import { InvalidCeleryOptionsError, TaskRegistry } from '../../lib/advanced';
import { startCeleryApp } from '../support/celery-app';

/** A task class provided through useFactory: it has no metatype, its instance's class counts. */
class FactoryMadeTasks {
  constructor(private readonly prefix: string) {}

  @CeleryTask({ name: 'config.hello' })
  hello(name: string): string {
    return `${this.prefix} ${name}`;
  }
}

describe('CeleryModule configuration', () => {
  it('takes its options from @nestjs/config through forRootAsync', async () => {
    const moduleRef = await Test.createTestingModule({
      imports: [
        ConfigModule.forRoot({ ignoreEnvFile: true, load: [() => ({ CELERY_DEFAULT_QUEUE: 'from-config' })] }),
        CeleryModule.forRootAsync({
          imports: [ConfigModule],
          inject: [ConfigService],
          useFactory: (config: ConfigService) => ({ broker: 'memory://', defaultQueue: config.get<string>('CELERY_DEFAULT_QUEUE'), backend: false }),
        }),
      ],
      providers: [{ provide: FactoryMadeTasks, useFactory: () => new FactoryMadeTasks('hello') }],
    }).compile();
    const app = moduleRef.createNestApplication({ logger: false });
    await app.init();
    try {
      expect(app.get(TaskRegistry).names()).toEqual(['celery.accumulate', 'celery.backend_cleanup', 'celery.chord_unlock', 'celery.chunks', 'celery.map', 'celery.starmap', 'config.hello']); // Celery's built-ins (canvas helpers, result cleanup, chord join) beside the app's own
      expect(app.get(TaskRegistry).appTaskNames()).toEqual(['config.hello']);
      expect(app.get(CeleryClient)).toBeInstanceOf(CeleryClient);
    } finally {
      await app.close();
    }
  });

  it('finds tasks on useFactory providers and runs them with their DI-built state', async () => {
    const app = await startCeleryApp({ broker: 'memory://', backend: 'memory://' }, [{ provide: FactoryMadeTasks, useFactory: () => new FactoryMadeTasks('hi') }]);
    try {
      const hello = defineTask<FactoryMadeTasks['hello']>('config.hello');
      expect(await (await app.get(CeleryClient).send(hello, ['there'])).get({ timeout: 10_000 })).toBe('hi there');
    } finally {
      await app.close();
    }
  });

  it('refuses invalid options at start-up with the option named and no password shown', async () => {
    @Module({ imports: [CeleryModule.forRoot({ broker: 'amqp://user:t0p-secret@', worker: { concurrency: -2 } } as never)] })
    class BadModule {}
    const error = await Test.createTestingModule({ imports: [BadModule] })
      .compile()
      .then(() => null, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(InvalidCeleryOptionsError);
    expect((error as Error).message).toContain('worker.concurrency must be a positive integer, got -2');
    expect((error as Error).message).not.toContain('t0p-secret');
  });

  it('checks task argument types at compile time through defineTask', () => {
    const hello = defineTask<FactoryMadeTasks['hello']>('config.hello');
    const send = (client: CeleryClient) => {
      // @ts-expect-error: tasks.hello takes a string, not a number (checked by `npm run typecheck`, part of `npm test`)
      void client.send(hello, [42]);
      void client.send(hello, ['fine']);
    };
    expect(typeof send).toBe('function');
  });
});

