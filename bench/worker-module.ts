/**
 * The benchmark's worker module: CeleryModule and one @CeleryTask, set up from BENCH_WORKER (see
 * support/processes.ts). bench/worker-process.ts boots it in one process; the worker CLI loads it
 * by its export (`--module dist/bench/worker-module.js --export BenchWorkerModule`) for the
 * multi-process subject, whose flags (-Q, -n, and each child's -<i>) apply over these options.
 */
import 'reflect-metadata';
import { DynamicModule, Injectable, Module } from '@nestjs/common';
import { CeleryModule, CeleryTask } from '../lib';
import type { NodeWorkerSettings } from './support/processes';
import { hashWork } from './support/hash-work';

@Injectable()
class BenchTasks {
  @CeleryTask({ name: 'bench.noop' })
  noop(): null {
    return null;
  }

  /** CPU-bound work, about 20 ms (support/hash-work.ts; bench_tasks.py's bench.hash does the same). */
  @CeleryTask({ name: 'bench.hash' })
  hash(rounds: number): string {
    return hashWork(rounds);
  }

  /** The work BullMQ's bench processor does, for the side-by-side rows. */
  @CeleryTask({ name: 'bench.add' })
  add(x: number, y: number): number {
    return x + y;
  }
}

@Module({})
class BenchWorkerRoot {}

/** The module for `settings`, node name `<queue>@%h`; without Mingle, as the Python workers run `--without-mingle`. */
export function benchWorkerModule(settings: NodeWorkerSettings & { brokerUrl: string }): DynamicModule {
  const backend =
    settings.backend === false || settings.backend === 'rpc://'
      ? settings.backend
      : settings.backend.startsWith('redis')
        ? { type: 'redis' as const, url: settings.backend, resultExpiresSeconds: 0 }
        : { type: 'postgres' as const, url: settings.backend, resultExpiresSeconds: 0 };
  return {
    module: BenchWorkerRoot,
    imports: [
      CeleryModule.forRoot({
        broker: settings.brokerUrl,
        backend,
        worker: {
          queues: [settings.queue],
          ignoreResult: settings.ignoreResult,
          acksLate: settings.acksLate ?? false,
          hostname: `${settings.queue}@%h`,
          mingle: false,
          pool: settings.pool,
          concurrency: settings.concurrency,
          // A process-pool child creates this file's module again, from the same BENCH_WORKER.
          poolModule: { path: __filename, export: 'BenchWorkerModule' },
        },
      }),
    ],
    providers: [BenchTasks],
  };
}

/** Built when the CLI loads this file; BENCH_WORKER is only set when the benchmark started it. */
export const BenchWorkerModule = process.env.BENCH_WORKER ? benchWorkerModule(JSON.parse(process.env.BENCH_WORKER)) : undefined;
