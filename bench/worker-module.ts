/**
 * The benchmark's worker module: CeleryModule and one @CeleryTask, set up from BENCH_WORKER (see
 * support/processes.ts). bench/worker-process.ts boots it in one process; the worker CLI loads it
 * by its export (`--module dist/bench/worker-module.js --export BenchWorkerModule`) for the
 * multi-process subject, each child then naming itself from CELERY_HOSTNAME as the CLI's -n says.
 */
import 'reflect-metadata';
import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { CeleryModule, CeleryTask } from '../lib';
import type { NodeWorkerSettings } from './support/processes';

@Injectable()
class BenchTasks {
  @CeleryTask({ name: 'bench.noop' })
  noop(): null {
    return null;
  }
}

@Module({})
class BenchWorkerRoot {}

/** The module for `settings`; the node name is CELERY_HOSTNAME when set (the CLI's -n), else `<queue>@%h`. */
export function benchWorkerModule(settings: NodeWorkerSettings & { brokerUrl: string }): DynamicModule {
  const backend = settings.backend === false || settings.backend === 'rpc://'
    ? settings.backend
    : { type: 'postgres' as const, url: settings.backend, resultExpiresSeconds: 0 };
  const hostname = process.env.CELERY_HOSTNAME || `${settings.queue}@%h`;
  return {
    module: BenchWorkerRoot,
    imports: [
      CeleryModule.forRoot({
        broker: settings.brokerUrl,
        backend,
        worker: { queues: [settings.queue], ignoreResult: settings.ignoreResult, acksLate: settings.acksLate ?? false, hostname },
      }),
    ],
    providers: [BenchTasks],
  };
}

/** Built when the CLI loads this file; BENCH_WORKER is only set when the benchmark started it. */
export const BenchWorkerModule = process.env.BENCH_WORKER ? benchWorkerModule(JSON.parse(process.env.BENCH_WORKER)) : undefined;
