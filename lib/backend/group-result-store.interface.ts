/** A saved group: its id and the ids of its tasks, in order (Celery's `GroupResult`). */
export interface SavedGroup {
  groupId: string;
  childIds: string[];
  /** When it was saved (naive UTC in the table, read as UTC). */
  dateDone: Date | null;
}

/**
 * Backends that can save groups (Celery's `GroupResult.save()` / `GroupResult.restore(id)` and
 * `backend.delete_group`). Kept apart from ResultBackend because only some backends can.
 */
export interface GroupResultStore {
  saveGroup(groupId: string, childIds: readonly string[]): Promise<void>;
  /** The saved group, or null when none is stored under that id. */
  getGroup(groupId: string): Promise<SavedGroup | null>;
  forgetGroup(groupId: string): Promise<void>;
}
