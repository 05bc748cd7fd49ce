import type { BenchConfig } from '../config';
import type { RabbitTools } from './rabbit';
import type { ScenarioContext } from './report';

/** What every scenario gets: the settings, the AMQP helpers, and where rows and notes go. */
export interface Bench extends ScenarioContext {
  config: BenchConfig;
  tools: RabbitTools;
}

/** Runs `run` `times` times in a row and collects its figures (for a subject with no counterpart to alternate with). */
export async function repeat(times: number, run: (index: number) => Promise<number>): Promise<number[]> {
  const values: number[] = [];
  for (let index = 0; index < times; index++) values.push(await run(index));
  return values;
}
