/**
 * Micro-benchmark of what a task's invocation costs per message, outside the broker: binding the
 * message's args/kwargs and calling the method, either directly (a task without guards,
 * interceptors, pipes or filters) or through Nest's pipeline (one pass-through guard), and what
 * the pipeline would cost a task without enhancers had every task gone through it.
 *
 *   npx tsc -p bench/tsconfig.json && node dist/bench/task-invocation.js
 */
import 'reflect-metadata';
import { CanActivate, Injectable, INestApplicationContext, Module, UseGuards } from '@nestjs/common';
import { ModuleRef, NestFactory } from '@nestjs/core';
import { CeleryModule, CeleryTask } from '../lib';
import { TaskRegistry } from '../lib/advanced';
import { findTaskEnhancers } from '../lib/invocation/task-enhancers';
import { TaskPipelines } from '../lib/invocation/task-pipelines';
import { MethodTask } from '../lib/task/method-task';
import { runInTaskContext, TaskContext } from '../lib/task/task-context';

@Injectable()
class AllowGuard implements CanActivate {
  canActivate(): boolean {
    return true;
  }
}

@Injectable()
class InvocationTasks {
  @CeleryTask('bench.add')
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask('bench.guarded_add')
  @UseGuards(AllowGuard)
  guardedAdd(x: number, y: number): number {
    return x + y;
  }
}

@Module({ imports: [CeleryModule.forRoot({ broker: 'memory://', backend: false, worker: false })], providers: [AllowGuard, InvocationTasks] })
class InvocationBenchModule {}

const CALLS = 300_000;
const ROUNDS = 5;

/** Median calls per second over ROUNDS rounds of CALLS messages, each awaited as the worker awaits a run. */
async function measure(label: string, context: TaskContext, task: MethodTask, args: unknown[], kwargs: Record<string, unknown>): Promise<void> {
  const rates: number[] = [];
  for (let call = 0; call < CALLS; call++) await runInTaskContext(context, task.prepare(args, kwargs)); // warm-up: let the JIT settle
  for (let round = 0; round < ROUNDS; round++) {
    const started = process.hrtime.bigint();
    for (let call = 0; call < CALLS; call++) await runInTaskContext(context, task.prepare(args, kwargs));
    rates.push(CALLS / (Number(process.hrtime.bigint() - started) / 1e9));
  }
  rates.sort((left, right) => left - right);
  const median = rates[Math.floor(ROUNDS / 2)];
  console.log(`${label.padEnd(66)} ${Math.round(median).toLocaleString('en').padStart(11)} calls/s  ${(1e6 / median).toFixed(2).padStart(6)} µs/call`);
}

async function main(): Promise<void> {
  const app: INestApplicationContext = await NestFactory.createApplicationContext(InvocationBenchModule, { logger: false });
  const registry = app.get(TaskRegistry);
  const plain = registry.get('bench.add') as MethodTask;
  const guarded = registry.get('bench.guarded_add') as MethodTask;
  // The same plain task forced through the pipeline: what detecting "no enhancers" saves.
  const instance = app.get(InvocationTasks);
  const pipelines = TaskPipelines.fromModuleRef(app.get(ModuleRef), 'InvocationTasks.add');
  const alwaysPipeline = new MethodTask(
    'bench.add_through_pipeline',
    {},
    'InvocationTasks.add',
    { names: ['x', 'y'], acceptsExtraPositional: false, requiredCount: 2 },
    pipelines.invoker(
      { instance, method: InvocationTasks.prototype.add, methodName: 'add', moduleKey: '' },
      findTaskEnhancers(InvocationTasks, InvocationTasks.prototype.add, 'add'),
    ),
  );
  const context = { id: 'bench', name: 'bench.add', args: [], kwargs: {}, retries: 0, headers: {} } as unknown as TaskContext;
  for (const [label, args, kwargs] of [
    ['args (40, 2)', [40, 2], {}],
    ['kwargs {x: 40, y: 2}', [], { x: 40, y: 2 }],
  ] as const) {
    await measure(`no enhancers, direct call, ${label}`, context, plain, [...args], { ...kwargs });
    await measure(`no enhancers, forced through Nest's pipeline, ${label}`, context, alwaysPipeline, [...args], { ...kwargs });
    await measure(`one guard, through Nest's pipeline, ${label}`, context, guarded, [...args], { ...kwargs });
  }
  await app.close();
}

void main();
