import type { BenchConfig } from '../config';
import type { RabbitTools } from './rabbit';
import type { ScenarioContext } from './report';

/** What every scenario gets: the settings, the AMQP helpers, and where rows and notes go. */
export interface Bench extends ScenarioContext {
  config: BenchConfig;
  tools: RabbitTools;
}
