import { ParamData } from '@nestjs/common';
import { ParamsFactory } from '@nestjs/core/helpers/external-context-creator';
import { CELERY_TASK_ARGUMENT_PARAMTYPE } from '../celery.constants';

/**
 * Fills a task method's `@TaskArg()` parameters for Nest's ExternalContextCreator. A task's
 * execution-context arguments are `[boundArguments, taskContext]`; `@TaskArg()` records its
 * parameter's position as its data, and the n-th `@TaskArg()` parameter gets the n-th argument.
 */
export function taskArgumentsFactory(argumentParameters: readonly number[]): ParamsFactory {
  const argumentOf: number[] = [];
  argumentParameters.forEach((parameter, argument) => (argumentOf[parameter] = argument));
  return {
    exchangeKeyForValue(type: number, data: ParamData, args: unknown[]): unknown {
      if (type !== CELERY_TASK_ARGUMENT_PARAMTYPE) return undefined;
      return (args[0] as readonly unknown[])[argumentOf[data as number]];
    },
  };
}
