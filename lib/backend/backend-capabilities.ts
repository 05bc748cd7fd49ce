import type { DataSource } from 'typeorm';
import type { ChordCounterStore } from './chord-counter-store.interface';
import type { GroupResultStore } from './group-result-store.interface';
import type { RevokedTaskStore } from './revoked-task-store.interface';

/**
 * What a result backend can do besides storing results, declared by the backend itself so that
 * callers ask here instead of probing classes. Each store is the backend seen through that
 * interface, or undefined when it cannot do it.
 */
export interface BackendCapabilities {
  /**
   * `getResult()` reads a store every worker and client shares (PostgreSQL, Redis). False for
   * rpc:// (a process only knows the replies sent to it) and for no backend: a worker cannot
   * read back what an earlier delivery of a task stored, so the duplicate-delivery guard and the
   * redelivery check have nothing to go on.
   */
  readonly readsBack: boolean;
  /** Joins chords with an atomic counter (no `celery.chord_unlock` polling). */
  readonly chordCounter?: ChordCounterStore;
  /** Saves groups (`GroupResult.save()` / `restore()`). */
  readonly groupStore?: GroupResultStore;
  /** Keeps revoked task ids across restarts, shared by every worker. */
  readonly revokedStore?: RevokedTaskStore;
  /** A PostgreSQL database other parts may keep their own tables in (the dashboard's task history). */
  readonly postgres?: PostgresDatabase;
}

/** The backend's PostgreSQL database, once connected. */
export interface PostgresDatabase {
  /** Throws while the backend is not connected. */
  readonly connectedDataSource: DataSource;
}

/** A backend that stores nothing anyone else can read: rpc://, none. */
export const NO_CAPABILITIES: BackendCapabilities = Object.freeze({ readsBack: false });
