import { DynamicModule, Module } from '@nestjs/common';
import { CeleryDashboard } from './celery-dashboard.service';
import { CELERY_DASHBOARD_OPTIONS } from './dashboard.constants';
import { DashboardAssets } from './dashboard-assets';
import { createDashboardController } from './dashboard-controller.factory';
import { CeleryDashboardOptions, resolveDashboardOptions } from './dashboard-options';

/**
 * The live dashboard, Flower's essentials inside your Nest HTTP app: workers, tasks with filters
 * and detail, throughput and failure-rate charts, and actions (revoke, terminate, retry, rate
 * limit, shut down a worker), updated live over server-sent events, with task history in
 * PostgreSQL. Off unless registered; every route passes the guards given here and your global
 * guards. Needs `CeleryModule` (global, as by default).
 *
 * ```ts
 * imports: [CeleryModule.forRoot({ … }), CeleryDashboardModule.register({ path: 'celery', guards: [AdminGuard] })]
 * ```
 */
@Module({})
export class CeleryDashboardModule {
  static register(options: CeleryDashboardOptions = {}): DynamicModule {
    if (options.enabled === false) return { module: CeleryDashboardModule };
    const resolved = resolveDashboardOptions(options);
    return {
      module: CeleryDashboardModule,
      imports: options.imports ?? [],
      controllers: [createDashboardController(resolved)],
      providers: [{ provide: CELERY_DASHBOARD_OPTIONS, useValue: resolved }, CeleryDashboard, DashboardAssets],
      exports: [CeleryDashboard],
    };
  }
}
