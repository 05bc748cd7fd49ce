import type { ControlArguments } from '../control/control-message';
import type { TaskEventSwitch } from '../events/task-event-switch';
import { ControlCommandError } from '../errors/control-command.error';
import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import type { CeleryWorker } from '../worker/celery-worker';
import type { ControlOutcome } from '../control/control-replies';

/** What a command may look at and act on: the worker and what describes this node. */
export interface ControlContext {
  readonly worker: CeleryWorker;
  readonly clock: LamportClock;
  readonly logger: CeleryLogger;
  /** kombu's `Connection.info()` of the broker, no password (`stats.broker`). */
  readonly brokerInfo: Record<string, unknown>;
  /** The app's settings in Celery's names, secrets masked (`conf`). */
  readonly settings: Record<string, unknown>;
  readonly taskEvents: TaskEventSwitch;
  /** Warm shutdown of this node once the current command is done (Celery's WorkerShutdown). */
  requestShutdown(): void;
}

export type { ControlArguments };

/**
 * One remote-control command (a function of Celery's `celery/worker/control.py` Panel). Its
 * return value is the reply; throwing replies `{"error": repr}`; NO_REPLY sends nothing.
 */
export type ControlCommand = (context: ControlContext, args: ControlArguments) => unknown;

/** Returned by a command that never replies, as Celery's `shutdown` (it raises WorkerShutdown). */
export const NO_REPLY = Symbol('no reply');

/** Celery's `ok(value)`. */
export function ok(text: string): ControlOutcome {
  return { ok: text };
}

/** Celery's `nok(value)`. */
export function nok(text: string): ControlOutcome {
  return { error: text };
}

/**
 * Fails like a Python call missing positional arguments, so the reply reads as a 5.2.6 worker's
 * (Fx compat_pidbox_raw `bad_arguments`): `TypeError("rate_limit() missing 1 required
 * positional argument: 'rate_limit'")`.
 */
export function requireArguments(command: string, args: ControlArguments, names: readonly string[]): void {
  const missing = names.filter((name) => !(name in args));
  if (missing.length === 0) return;
  const quoted = missing.map((name) => `'${name}'`);
  const list = quoted.length === 1 ? quoted[0] : quoted.length === 2 ? quoted.join(' and ') : `${quoted.slice(0, -1).join(', ')}, and ${quoted.at(-1)}`;
  const plural = missing.length === 1 ? 'argument' : 'arguments';
  throw new ControlCommandError('TypeError', `${command}() missing ${missing.length} required positional ${plural}: ${list}`);
}

/** Celery's `maybe_list`: one id or a list of ids; nothing gives none. */
export function maybeList(value: unknown): string[] {
  if (value === null || value === undefined) return [];
  return (Array.isArray(value) ? value : [value]).map(String);
}
