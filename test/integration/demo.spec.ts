import { NestFactory } from '@nestjs/core';
import { CeleryClient } from '../../lib';
import { AppModule } from '../../sample-app/src/app.module';
import { demoEnvironment, runDemo } from '../../sample-app/src/demo';

/** `npm run demo`'s main job on its default: the in-process broker and results, no server. */
describe('sample-app demo on the in-process default', () => {
  it('prints the right result for every task', async () => {
    const app = await NestFactory.create(AppModule.forRole({ api: true, worker: true }, demoEnvironment({})), { logger: false, abortOnError: false });
    await app.init();
    const lines: [string, unknown][] = [];
    try {
      await runDemo(app.get(CeleryClient), (call, outcome) => lines.push([call, outcome]));
    } finally {
      await app.close();
    }
    expect(lines).toEqual([
      ['tasks.add(2, 2)', 4],
      ['tasks.mul(6, 7)', 42],
      ['tasks.xsum([1..10])', 55],
      ['tasks.echo(value=…)', { hello: 'wörld 🌍', numbers: [1, 2.5, null], nested: { ok: true } }],
      ['tasks.sleep(0.2)', 0.2],
      ['tasks.fail("on purpose")', 'FAILURE: Exception: on purpose'], // a plain JS Error is stored as Python's Exception
      ['20 × tasks.add(i, i)', Array.from({ length: 20 }, (_, index) => index * 2)],
    ]);
  }, 60_000);
});
