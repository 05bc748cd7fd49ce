import { DynamicModule, Module } from '@nestjs/common';
import { CeleryModule } from '../../lib';
import { celeryOptionsFromEnvironment } from './celery-settings';
import { TasksController } from './http/tasks.controller';
import { TasksModule } from './tasks/tasks.module';

export interface AppRole {
  /** Serve the HTTP API. */
  api: boolean;
  /** Run the sample tasks (a Celery worker). */
  worker: boolean;
}

/** The sample app in one of its roles: API, worker, or both in one process (the demo). */
@Module({})
export class AppModule {
  static forRole(role: AppRole, env: NodeJS.ProcessEnv = process.env): DynamicModule {
    return {
      module: AppModule,
      imports: [CeleryModule.forRoot(celeryOptionsFromEnvironment(env, role)), ...(role.worker ? [TasksModule] : [])],
      controllers: role.api ? [TasksController] : [],
    };
  }
}
