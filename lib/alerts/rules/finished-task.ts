/** A task that ended, as the alert rules need it (from a task-succeeded or task-failed event). */
export interface FinishedTask {
  uuid: string;
  /** Null when its task-received event was not seen (task-failed does not carry the name). */
  name: string | null;
  state: 'SUCCESS' | 'FAILURE';
  /** The worker's node name. */
  hostname: string;
  /** `repr()` of the exception, for failures. */
  exception?: string;
  /** When it was seen here, ms since the epoch. */
  at: number;
}
