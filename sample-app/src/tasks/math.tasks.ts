import { Injectable } from '@nestjs/common';
import { CeleryTask } from '../../../lib';

/** Arithmetic tasks, named as in Celery's own examples so Python code can call them unchanged. */
@Injectable()
export class MathTasks {
  @CeleryTask({ name: 'tasks.add' })
  add(x: number, y: number): number {
    return x + y;
  }

  @CeleryTask({ name: 'tasks.mul' })
  mul(x: number, y: number): number {
    return x * y;
  }

  @CeleryTask({ name: 'tasks.xsum' })
  xsum(numbers: number[]): number {
    return numbers.reduce((total, value) => total + value, 0);
  }
}
