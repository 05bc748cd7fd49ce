/**
 * Where revoked task ids outlive the worker (Celery keeps them in memory unless given
 * `--statedb`); the database result backend implements it so every worker shares one list.
 */
export interface RevokedTaskStore {
  /** Ids revoked at or after `since`. */
  loadRevoked(since: Date): Promise<string[]>;
  saveRevoked(ids: readonly string[], at: Date): Promise<void>;
}
