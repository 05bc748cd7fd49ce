import { DynamicModule, Module } from '@nestjs/common';
import { TerminusModule } from '@nestjs/terminus';
import { CeleryModule } from '../../lib';
import { CeleryDashboardModule } from '../../lib/dashboard';
import { celeryOptionsFromEnvironment } from './celery-settings';
import { dashboardGuardFromEnvironment } from './http/dashboard-auth.guard';
import { HealthController } from './http/health.controller';
import { MetricsController } from './http/metrics.controller';
import { TasksController } from './http/tasks.controller';
import { TasksModule } from './tasks/tasks.module';

export interface AppRole {
  /** Serve the HTTP API. */
  api: boolean;
  /** Run the sample tasks (a Celery worker). */
  worker: boolean;
  /** Fire periodic tasks (a beat); a worker also runs one with CELERY_BEAT=true. */
  beat?: boolean;
}

/** The sample app in one of its roles: API, worker, beat, or API and worker in one process (the demo). */
@Module({})
export class AppModule {
  static forRole(role: AppRole, env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [
        // The API serves /metrics, so it keeps them; a worker without HTTP would have nowhere to show them.
        CeleryModule.forRoot({ ...celeryOptionsFromEnvironment(env, role), metrics: role.api }),
        // A beat knows the tasks too: their @CeleryTask({ schedule }) and their queues.
        ...(role.worker || role.beat ? [TasksModule] : []),
        ...(role.api ? [TerminusModule] : []),
        // The dashboard at /celery, off unless CELERY_DASHBOARD=true, behind HTTP Basic authentication.
        ...(role.api && env.CELERY_DASHBOARD === 'true' ? [CeleryDashboardModule.register({ path: 'celery', guards: [dashboardGuardFromEnvironment(env)] })] : []),
      ],
      controllers: role.api ? [TasksController, HealthController, MetricsController] : [],
    };
  }
}
