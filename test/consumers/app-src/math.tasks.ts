import { Injectable, ParseIntPipe } from '@nestjs/common';
import { CeleryTask, currentTask, defineTask, TaskArg } from 'nestjs-celery';

@Injectable()
export class MathTasks {
  /** Returns the process that ran it, so the sender sees that another process did. */
  @CeleryTask({ name: 'consumer.add' })
  add(x: number, y: number): { sum: number; pid: number; taskId: string } {
    return { sum: x + y, pid: process.pid, taskId: currentTask().id };
  }

  /** Through Nest's pipes (ParseIntPipe turns '21' into 21): the task pipeline on this Nest version's internals. */
  @CeleryTask({ name: 'consumer.double' })
  double(@TaskArg(ParseIntPipe) n: number): number {
    return n * 2;
  }
}

/** The typed references the sender uses: args and results checked against MathTasks. */
export const add = defineTask<MathTasks['add']>('consumer.add');
export const double = defineTask<(n: string) => number>('consumer.double');
