import type { TaskEventSwitch } from '../events/task-event-switch';

/**
 * The event switch of a worker that sends no Celery events yet: `enable_events` and
 * `disable_events` are answered as Celery answers them (task events start disabled, as without
 * `-E`) and the state is remembered; `heartbeat` has nothing to send.
 */
export class TaskEventFlag implements TaskEventSwitch {
  private enabled = false;

  enableTaskEvents(): boolean {
    if (this.enabled) return false;
    this.enabled = true;
    return true;
  }

  disableTaskEvents(): boolean {
    if (!this.enabled) return false;
    this.enabled = false;
    return true;
  }

  sendHeartbeat(): void {}
}
