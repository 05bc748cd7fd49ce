import type { RevokeReason } from '../errors/task-revoked.error';
import type { SignatureDict } from '../protocol/signature-dict';

/**
 * How a task delivery ended: the one value the worker's settlement (settlement.ts) acts on. Every
 * path ends in one — a run, a refusal at the door, the redelivery of a run whose worker was
 * lost, a revoke, an expiry — so every path stores, continues the workflow, tells and acks alike.
 */
export type TaskOutcome = SucceededOutcome | RetriedOutcome | FailedOutcome | RevokedOutcome | ReplacedOutcome;

export interface SucceededOutcome {
  readonly state: 'SUCCESS';
  readonly value: unknown;
}

/** The task asked to run again (`retry()`, `autoretryFor`): republished with retries + 1. */
export interface RetriedOutcome {
  readonly state: 'RETRY';
  /** The error that caused it, stored with RETRY (undefined when retry() named none). */
  readonly cause: unknown;
  readonly eta: Date;
  /** The queue retry() named, if any. */
  readonly queue?: string;
}

export interface FailedOutcome {
  readonly state: 'FAILURE';
  readonly error: unknown;
  readonly why: FailureKind;
}

export interface RevokedOutcome {
  readonly state: 'REVOKED';
  readonly reason: RevokeReason;
}

/**
 * The task replaced itself (`replace()`, Celery's `Task.replace`): the replacement is sent under
 * its id and nothing is stored for it — Celery's IGNORED, never a stored state.
 */
export interface ReplacedOutcome {
  readonly state: 'IGNORED';
  readonly replacement: SignatureDict;
}

/** Why a task failed: for the log line, and for how its message is settled. */
export type FailureKind =
  /** Its code threw, a hard time limit ended it, or its retries ran out. */
  | 'raised'
  /** Refused at the door (unknown task, arguments that do not fit, an invalid message): rejected, so a dead-letter exchange keeps it. */
  | 'refused'
  /** An earlier delivery began on a worker that was lost, and rejectOnWorkerLost is false. */
  | 'worker-lost'
  /** It asked to retry, but the next try could not be published. */
  | 'retry-not-sent'
  /** It succeeded, but its callbacks or its chain's next step could not be sent. */
  | 'next-step-not-sent'
  /** It returned a value that cannot be stored (a function, a cycle…). */
  | 'result-not-storable'
  /** It asked to be replaced, but the replacement could not be sent. */
  | 'replacement-not-sent';

export function failed(error: unknown, why: FailureKind): FailedOutcome {
  return { state: 'FAILURE', error, why };
}

/**
 * What settle() did: the outcome it ended with (a success whose next step could not be sent is a
 * failure by then), or HANDED_BACK when the outcome could not be stored and the message went back
 * to its queue to run again (acksLate).
 */
export type SettledOutcome = TaskOutcome | { readonly state: 'HANDED_BACK' };
