/*
 * nestjs-celery/dashboard: Flower's essentials inside your Nest HTTP app. Its history tables for
 * your own DataSource are in nestjs-celery/typeorm.
 */
export { CeleryDashboardModule } from './celery-dashboard.module';
export { CeleryDashboard } from './celery-dashboard.service';
export type { DashboardOverview } from './celery-dashboard.service';
export type { CeleryDashboardOptions, DashboardGuard } from './dashboard-options';
export { InvalidDashboardOptionsError } from '../errors/invalid-dashboard-options.error';
