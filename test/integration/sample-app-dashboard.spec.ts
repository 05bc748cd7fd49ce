import { INestApplication } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { AppModule } from '../../sample-app/src/app.module';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

/** The sample API's dashboard switch (CELERY_DASHBOARD) and its HTTP Basic guard, on real RabbitMQ and PostgreSQL. */
describe('sample-app dashboard (CELERY_DASHBOARD=true)', () => {
  let env: TestEnvironment;
  let app: INestApplication | undefined;

  beforeAll(async () => {
    env = await createTestEnvironment('it-sample-dash');
  });

  afterAll(async () => {
    await app?.close();
    await env?.dispose();
  });

  const settings = () => ({ CELERY_BROKER_URL: RABBITMQ_URL, CELERY_RESULT_BACKEND: env.databaseUrl, CELERY_QUEUES: env.queue });

  it('is not mounted unless CELERY_DASHBOARD=true', () => {
    const module = AppModule.forRole({ api: true, worker: false }, settings());
    expect(JSON.stringify(module.imports?.map((entry: any) => entry?.module?.name))).not.toContain('CeleryDashboardModule');
  });

  it('refuses to start the dashboard without a password', () => {
    expect(() => AppModule.forRole({ api: true, worker: false }, { ...settings(), CELERY_DASHBOARD: 'true' })).toThrow(/CELERY_DASHBOARD_PASSWORD/);
  });

  it('serves /celery to the configured user only', async () => {
    const module = AppModule.forRole({ api: true, worker: false }, { ...settings(), CELERY_DASHBOARD: 'true', CELERY_DASHBOARD_USER: 'ops', CELERY_DASHBOARD_PASSWORD: 's3cret' });
    app = await NestFactory.create(module, { logger: false, abortOnError: false });
    await app.listen(0, '127.0.0.1');
    const base = `${(await app.getUrl()).replace('[::1]', '127.0.0.1')}/celery`;
    const basic = (credentials: string) => ({ authorization: `Basic ${Buffer.from(credentials).toString('base64')}` });
    expect((await fetch(base)).status).toBe(401);
    expect((await fetch(`${base}/api/workers`, { headers: basic('ops:wrong') })).status).toBe(401);
    expect((await fetch(`${base}/api/workers`, { headers: basic('ops:s3cret') })).status).toBe(200);
    const page = await fetch(base, { headers: basic('ops:s3cret') });
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('<title>Celery dashboard</title>');
  });
});
