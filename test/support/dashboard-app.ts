import { INestApplication, Module, Provider } from '@nestjs/common';
import { NestFactory } from '@nestjs/core';
import { CeleryModule, CeleryModuleOptions } from '../../lib';
import { CeleryDashboardModule, CeleryDashboardOptions } from '../../lib/dashboard';
import { DashboardAuthGuard } from '../../sample-app/src/http/dashboard-auth.guard';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';

/** The credentials the test dashboards accept (HTTP Basic, the sample app's guard). */
export const DASHBOARD_USER = 'admin';
export const DASHBOARD_PASSWORD = 'dashboard-secret';
export const DASHBOARD_AUTHORIZATION = `Basic ${Buffer.from(`${DASHBOARD_USER}:${DASHBOARD_PASSWORD}`).toString('base64')}`;

/**
 * An HTTP app with CeleryModule, the sample tasks (a worker), `providers` (more tasks) and the
 * dashboard at /celery behind the sample's guard, listening on a free port.
 */
export async function startDashboardApp(options: CeleryModuleOptions, dashboard: CeleryDashboardOptions = {}, providers: Provider[] = []): Promise<{ app: INestApplication; url: string }> {
  @Module({
    imports: [
      CeleryModule.forRoot(options),
      TasksModule,
      CeleryDashboardModule.register({ path: 'celery', guards: [new DashboardAuthGuard(DASHBOARD_USER, DASHBOARD_PASSWORD)], ...dashboard }),
    ],
    providers,
  })
  class DashboardTestModule {}
  const app = await NestFactory.create(DashboardTestModule, { logger: process.env.TEST_LOGS ? undefined : false });
  try {
    await app.listen(0, '127.0.0.1');
  } catch (error) {
    await app.close().catch(() => undefined);
    throw error;
  }
  const base = (await app.getUrl()).replace('[::1]', '127.0.0.1');
  return { app, url: `${base}/celery` };
}

/** A JSON request to the dashboard, with credentials unless told otherwise. */
export async function dashboardRequest(url: string, init: { method?: string; body?: unknown; authorized?: boolean } = {}): Promise<{ status: number; body: any; headers: Headers }> {
  const headers: Record<string, string> = {};
  if (init.authorized !== false) headers.authorization = DASHBOARD_AUTHORIZATION;
  if (init.body !== undefined) headers['content-type'] = 'application/json';
  const response = await fetch(url, { method: init.method ?? 'GET', headers, body: init.body === undefined ? undefined : JSON.stringify(init.body) });
  const text = await response.text();
  let body: unknown = text;
  try {
    body = text ? JSON.parse(text) : null;
  } catch {
    // Not JSON: the page.
  }
  return { status: response.status, body, headers: response.headers };
}
