import { Injectable } from '@nestjs/common';
import { Reflector } from '@nestjs/core';
import { CELERY_ALERT_METADATA, CELERY_TASK_METADATA, CELERY_TASK_SIGNAL_METADATA } from './celery.constants';
import { CeleryAlertMetadata } from './decorators/on-celery-alert.decorator';
import { TaskDeclaration } from './decorators/celery-task.decorator';
import { TaskSignalMetadata } from './decorators/on-task-signal.decorator';

/** Reads `@CeleryTask()`, `@OnTaskSignal()` and `@OnCeleryAlert()` metadata: a thin wrapper over Nest's Reflector. */
@Injectable()
export class CeleryMetadataAccessor {
  constructor(private readonly reflector: Reflector) {}

  getTaskDeclaration(target: Function): TaskDeclaration | undefined {
    return this.reflector.get<TaskDeclaration | undefined>(CELERY_TASK_METADATA, target);
  }

  getTaskSignal(target: Function): TaskSignalMetadata | undefined {
    return this.reflector.get<TaskSignalMetadata | undefined>(CELERY_TASK_SIGNAL_METADATA, target);
  }

  getAlertListener(target: Function): CeleryAlertMetadata | undefined {
    return this.reflector.get<CeleryAlertMetadata | undefined>(CELERY_ALERT_METADATA, target);
  }
}
