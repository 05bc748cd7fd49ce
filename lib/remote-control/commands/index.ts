import type { ControlCommand } from '../control-command';
import { CONSUMER_COMMANDS } from './consumer-commands';
import { EVENT_COMMANDS } from './event-commands';
import { NODE_COMMANDS } from './node-commands';
import { TASK_CONTROL_COMMANDS } from './task-control-commands';
import { TASK_INSPECTION_COMMANDS } from './task-inspection-commands';
import { UNSUPPORTED_COMMANDS } from './unsupported-commands';
import { POOL_COMMANDS } from './pool-commands';

/** Celery's old names, still sent by some tools (the `alias` of each Panel command). */
const ALIASES: Record<string, string> = {
  dump_conf: 'conf',
  dump_tasks: 'registered',
  dump_active: 'active',
  dump_reserved: 'reserved',
  dump_schedule: 'scheduled',
  dump_revoked: 'revoked',
};

const COMMANDS: Record<string, ControlCommand> = {
  ...NODE_COMMANDS,
  ...TASK_INSPECTION_COMMANDS,
  ...TASK_CONTROL_COMMANDS,
  ...EVENT_COMMANDS,
  ...CONSUMER_COMMANDS,
  ...POOL_COMMANDS,
  ...UNSUPPORTED_COMMANDS,
};

/** Every command a worker answers, by the `method` name requests use (Celery's Panel registry). */
export const CONTROL_COMMANDS: ReadonlyMap<string, ControlCommand> = new Map([
  ...Object.entries(COMMANDS),
  ...Object.entries(ALIASES).map(([alias, name]): [string, ControlCommand] => [alias, COMMANDS[name]]),
]);
