/**
 * A signature as Celery serialises it inside messages (celery-protocol.md §7.1): the task to
 * call next in a chain, a callback, an errback or a chord body.
 */
export interface SignatureDict {
  task: string;
  args: unknown[];
  kwargs: Record<string, unknown>;
  options: Record<string, unknown>;
  subtask_type: string | null;
  immutable: boolean;
  chord_size?: number | null;
}

/** The third element of a v2 body: workflow links carried with the task. */
export interface TaskEmbed {
  callbacks: SignatureDict[] | null;
  errbacks: SignatureDict[] | null;
  /** Remaining chain steps in reverse order: the next step is the last element. */
  chain: SignatureDict[] | null;
  chord: SignatureDict | null;
}

export const EMPTY_EMBED: Readonly<TaskEmbed> = Object.freeze({ callbacks: null, errbacks: null, chain: null, chord: null });

/** Anything that can stand for a signature on the wire: the dict itself, or a Signature object. */
export type SignatureLike = SignatureDict | { toDict(): SignatureDict };

/** The signature dict of a SignatureLike, as it is written into a message. */
export function toSignatureDict(signature: SignatureLike): SignatureDict {
  return 'toDict' in signature && typeof signature.toDict === 'function' ? signature.toDict() : (signature as SignatureDict);
}

/** A result tuple (celery-protocol.md §4.0): `[[id, parent], null]` for a task, `[[id, parent], [members…]]` for a group. */
export type ResultTuple = [[string, ResultTuple | null], ResultTuple[] | null];
