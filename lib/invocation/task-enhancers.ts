import {
  CUSTOM_ROUTE_ARGS_METADATA,
  EXCEPTION_FILTERS_METADATA,
  GUARDS_METADATA,
  INTERCEPTORS_METADATA,
  PIPES_METADATA,
  ROUTE_ARGS_METADATA,
} from '@nestjs/common/constants';
import { CELERY_TASK_ARGUMENT_PARAMTYPE } from '../celery.constants';

/** A decorated parameter of a task method, by what fills it. */
export interface DecoratedParameter {
  readonly index: number;
  /** `@TaskArg()`; a `createParamDecorator()` one (custom); or one tasks cannot fill (`@Body()`, `@Payload()`…). */
  readonly kind: 'task-argument' | 'custom' | 'foreign';
}

/**
 * The Nest enhancers declared on a task method or on its class, read once at registration: a task
 * with none runs its method directly and pays nothing for Nest's pipeline on each message.
 */
export interface TaskEnhancers {
  readonly guards: boolean;
  readonly interceptors: boolean;
  readonly pipes: boolean;
  readonly filters: boolean;
  readonly parameters: readonly DecoratedParameter[];
}

export function findTaskEnhancers(classRef: Function, method: Function, methodName: string): TaskEnhancers {
  const declared = (key: string) => nonEmpty(Reflect.getMetadata(key, method)) || nonEmpty(Reflect.getMetadata(key, classRef));
  return {
    guards: declared(GUARDS_METADATA),
    interceptors: declared(INTERCEPTORS_METADATA),
    pipes: declared(PIPES_METADATA),
    filters: declared(EXCEPTION_FILTERS_METADATA),
    parameters: decoratedParameters(Reflect.getMetadata(ROUTE_ARGS_METADATA, classRef, methodName)),
  };
}

export function needsNestPipeline(enhancers: TaskEnhancers): boolean {
  return enhancers.guards || enhancers.interceptors || enhancers.pipes || enhancers.filters || enhancers.parameters.length > 0;
}

function decoratedParameters(metadata: Record<string, { index: number }> | undefined): DecoratedParameter[] {
  if (!metadata) return [];
  return Object.entries(metadata)
    .map(([key, { index }]): DecoratedParameter => {
      if (key.includes(CUSTOM_ROUTE_ARGS_METADATA)) return { index, kind: 'custom' };
      return { index, kind: Number(key.split(':')[0]) === CELERY_TASK_ARGUMENT_PARAMTYPE ? 'task-argument' : 'foreign' };
    })
    .sort((left, right) => left.index - right.index);
}

function nonEmpty(value: unknown): boolean {
  return Array.isArray(value) && value.length > 0;
}
