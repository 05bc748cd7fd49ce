import { Controller, INestMicroservice, Module } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { Ctx, MessagePattern, Payload, RpcException } from '@nestjs/microservices';
import { lastValueFrom, of } from 'rxjs';
import { chain, chord, signature, TaskFailedError } from '../../lib';
import { CeleryClientProxy, CeleryContext, CeleryServer } from '../../lib/microservice';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { eventually } from '../support/celery-app';

@Controller()
class MathController {
  @MessagePattern('ms.add')
  add(@Payload() [x, y]: [number, number]): number {
    return x + y;
  }

  @MessagePattern('ms.scaled')
  scaled(@Payload() [x]: [number], @Ctx() context: CeleryContext) {
    return of(x * Number(context.getKwargs().factor ?? 1), context.getTask().name);
  }

  @MessagePattern('ms.fail')
  fail(): never {
    throw new RpcException('out of range');
  }

  @MessagePattern('ms.crash')
  crash(): never {
    throw new Error('internal detail');
  }

  @MessagePattern('ms.sum')
  sum(@Payload() [values]: [number[]]): number {
    return values.reduce((total, value) => total + value, 0);
  }

  @MessagePattern('ms.record')
  record(@Payload() [value]: [unknown]): void {
    linked.push(value);
  }
}

/** What ms.record received: the link callback's argument. */
const linked: unknown[] = [];

@Module({ controllers: [MathController] })
class MathMicroserviceModule {}

/** Celery as a Nest microservice transport: CeleryServer serves @MessagePattern handlers, CeleryClientProxy calls them. */
describe('Celery microservice transport', () => {
  let env: TestEnvironment;
  let microservice: INestMicroservice;
  let client: CeleryClientProxy;

  beforeAll(async () => {
    env = await createTestEnvironment('it-ms');
    const options = { broker: RABBITMQ_URL, backend: env.databaseUrl, defaultQueue: env.queue };
    microservice = await NestFactory.createMicroservice(MathMicroserviceModule, { strategy: new CeleryServer(options), logger: false, abortOnError: false });
    await microservice.listen();
    client = new CeleryClientProxy(options);
    await client.connect();
  });

  afterAll(async () => {
    await client?.close();
    await microservice?.close();
    await env?.dispose();
  });

  it('runs a @MessagePattern handler as a Celery task and returns its result to ClientProxy.send', async () => {
    expect(await lastValueFrom(client.send('ms.add', [20, 22]))).toBe(42);
  });

  it('passes kwargs through the CeleryContext and returns the last value an Observable emits', async () => {
    expect(await lastValueFrom(client.send('ms.scaled', { args: [7], kwargs: { factor: 3 } }))).toBe('ms.scaled');
  });

  it("errors the Observable with the failure, after Nest's RPC exception filters", async () => {
    const error = await lastValueFrom(client.send('ms.fail', [])).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(TaskFailedError);
    expect(error).toMatchObject({ excType: 'RpcException', excMessage: ['out of range'] });
    const hidden = await lastValueFrom(client.send('ms.crash', [])).catch((caught: unknown) => caught);
    expect(hidden).toMatchObject({ excType: 'RpcException', excMessage: ['Internal server error'] });
  });

  it('runs chains, links and chords: the microservice worker continues workflows like the module one', async () => {
    const celery = await client.connect();
    const last = await chain(celery.signature('ms.add', [1, 2]), signature('ms.add', [10]), signature('ms.add', [100])).applyAsync();
    expect(await last.get({ timeout: 10_000 })).toBe(113);

    const body = await chord([celery.signature('ms.add', [1, 1]), signature('ms.add', [2, 2]), signature('ms.add', [3, 3])], signature('ms.sum')).applyAsync();
    expect(await body.get({ timeout: 10_000 })).toBe(12);

    const first = await celery.send('ms.add', [20, 1], { link: signature('ms.record') });
    expect(await first.get({ timeout: 10_000 })).toBe(21);
    await eventually(() => (linked.includes(21) ? true : undefined), 10_000, 'the link callback');
  });

  it('emits fire-and-forget tasks', async () => {
    const sent = await lastValueFrom(client.emit('ms.add', [1, 1]));
    expect(sent).toMatchObject({ id: expect.any(String) });
  });
});
