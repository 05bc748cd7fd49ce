import { ControlCommand, ok } from '../control-command';

/** Celery's event switches (`celery control enable_events|disable_events|heartbeat`). */
export const EVENT_COMMANDS: Record<string, ControlCommand> = {
  enable_events: ({ taskEvents }) => ok(taskEvents.enableTaskEvents() ? 'task events enabled' : 'task events already enabled'),

  disable_events: ({ taskEvents }) => ok(taskEvents.disableTaskEvents() ? 'task events disabled' : 'task events already disabled'),

  /** Sends a worker-heartbeat now; Celery's handler returns None, so the reply is null. */
  heartbeat: ({ taskEvents }) => {
    taskEvents.sendHeartbeat();
    return null;
  },
};
