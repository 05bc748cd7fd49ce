import { ControlCommandError } from '../../errors/control-command.error';
import { pythonRepr } from '../../protocol/python-repr';
import { parseRateLimit } from '../../task/rate-limit';
import { ControlCommand, ControlContext, ControlArguments, maybeList, nok, ok, requireArguments } from '../control-command';
import type { ControlOutcome } from '../../control/control-replies';

/**
 * Celery's task control commands (`celery control revoke|terminate|rate_limit|time_limit`,
 * `app.control.revoke()`), with the reply texts of 5.2.6 (Fx worker_pidbox_revoke,
 * worker_pidbox_rate_limit, compat_pidbox_raw).
 */
export const TASK_CONTROL_COMMANDS: Record<string, ControlCommand> = {
  /**
   * Adds the ids to the worker's revoked set (and its store). With `terminate`, tasks running
   * now are interrupted: Node.js cannot send a task a signal, so whatever `signal` names, the
   * task's AbortSignal fires and REVOKED `terminated` is stored.
   */
  revoke: (context, args) => {
    requireArguments('revoke', args, ['task_id']);
    return revoke(context, args, Boolean(args.terminate));
  },

  /**
   * Celery 5.3+: revokes by stamp, `headers` being `{stamp: value or [values]}` (or `celery
   * control`'s `["stamp=value", …]`). Matching messages are discarded as REVOKED from now on; with
   * `terminate`, the matching tasks running now are interrupted.
   */
  revoke_by_stamped_headers: ({ worker, logger }, args): ControlOutcome => {
    requireArguments('revoke_by_stamped_headers', args, ['headers']);
    const headers = stampedHeadersArgument(args.headers);
    const terminated = worker.revokeByStamps(headers, { terminate: Boolean(args.terminate) });
    logger.log(`Stamps flagged as revoked: ${pythonRepr(headers)}`);
    if (!args.terminate) return ok(`headers ${pythonRepr(headers)} flagged as revoked, but not terminated`);
    if (Object.keys(terminated).length === 0) return ok(`headers ${pythonRepr(headers)} were not terminated`);
    // Celery replies with the repr of its defaultdict(set) of terminated stamps.
    const sets = Object.entries(terminated).map(([name, values]) => `${pythonRepr(name)}: {${values.map(pythonRepr).join(', ')}}`);
    return ok(`headers defaultdict(<class 'set'>, {${sets.join(', ')}}) revoked`);
  },

  terminate: (context, args) => {
    requireArguments('terminate', args, ['signal', 'task_id']);
    return revoke(context, args, true);
  },

  /** A Celery rate string (`"5/s"`, `"100/m"`, a number per second); empty or 0 removes the limit. */
  rate_limit: ({ worker, logger }, args): ControlOutcome => {
    requireArguments('rate_limit', args, ['task_name', 'rate_limit']);
    const taskName = String(args.task_name);
    const limit = args.rate_limit as string | number | null;
    try {
      parseRateLimit(limit);
    } catch {
      return nok(`Invalid rate limit string: ValueError(${pythonRepr(`${pythonRepr(limit)} is not a rate: expected "10/s", "100/m", "1000/h" or a number of tasks per second`)})`);
    }
    if (!isRegistered(worker, taskName)) return nok('unknown task');
    worker.setRateLimit(taskName, limit);
    // Python tests the string's truth: "0" sets a limit of zero, i.e. none, yet reads as "set".
    if (!limit) {
      logger.log(`Rate limits disabled for tasks of type ${taskName}`);
      return ok('rate limit disabled successfully');
    }
    logger.log(`New rate limit for tasks of type ${taskName}: ${limit}`);
    return ok('new rate limit set successfully');
  },

  /** Seconds; a limit not given is removed, as in Celery. The message's own `timelimit` header still wins. */
  time_limit: ({ worker, logger }, args): ControlOutcome => {
    const taskName = String(args.task_name);
    if (!isRegistered(worker, taskName)) return nok('unknown task');
    const soft = seconds(args.soft, 'soft');
    const hard = seconds(args.hard, 'hard');
    worker.setTimeLimits(taskName, hard, soft);
    logger.log(`New time limits for tasks of type ${taskName}: soft=${soft} hard=${hard}`);
    return ok('time limits set successfully');
  },
};

async function revoke({ worker, logger }: ControlContext, args: ControlArguments, terminate: boolean): Promise<ControlOutcome> {
  const ids = [...new Set(maybeList(args.task_id))];
  const terminated = await worker.revoke(ids, { terminate });
  if (terminate) {
    if (terminated.length === 0) return ok('terminate: tasks unknown');
    logger.log(`Terminated ${terminated.join(', ')}`);
    return ok(`terminate: ${terminated.join(', ')}`);
  }
  logger.log(`Tasks flagged as revoked: ${ids.join(', ')}`);
  return ok(`tasks ${ids.join(', ')} flagged as revoked`);
}

/** Celery's `headers` argument: a dict, or the command line's list of `name=value` strings. */
function stampedHeadersArgument(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) {
    return Object.fromEntries(value.map((item) => {
      const [name, stamp] = String(item).split('=');
      if (stamp === undefined) throw new ControlCommandError('IndexError', 'list index out of range');
      return [name, stamp];
    }));
  }
  if (typeof value === 'object' && value !== null) return value as Record<string, unknown>;
  throw new ControlCommandError('AttributeError', `${pythonRepr(value)} has no attribute 'items': revoke_by_stamped_headers() takes headers as {stamp: value or [values]}`);
}

function isRegistered(worker: ControlContext['worker'], taskName: string): boolean {
  return worker.registeredTasks().some((task) => task.name === taskName);
}

/** A time limit argument: null/absent removes it; otherwise a positive number of seconds. */
function seconds(value: unknown, name: string): number | null {
  if (value === null || value === undefined) return null;
  const number = typeof value === 'string' ? Number(value) : value;
  if (typeof number !== 'number' || !(number > 0) || !Number.isFinite(number)) {
    throw new ControlCommandError('ValueError', `time_limit() ${name} must be a positive number of seconds or None, got ${pythonRepr(value)}`);
  }
  return number;
}
