import { Module } from '@nestjs/common';
import { FaultDrillTasks } from './fault-drill.tasks';
import { MathTasks } from './math.tasks';
import { UtilityTasks } from './utility.tasks';

/** The sample tasks; a module that imports this runs them when its CeleryModule has a worker. */
@Module({ providers: [MathTasks, UtilityTasks, FaultDrillTasks], exports: [MathTasks, UtilityTasks] })
export class TasksModule {}
