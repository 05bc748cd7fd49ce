import type { AsyncResult } from '../async-result';
import type { CeleryClient } from '../celery-client';
import { SignatureLike, toSignatureDict } from '../../protocol/signature-dict';
import { chainDict, chordDict, groupDict } from './composite-dicts';
import type { GroupResult } from './group-result';
import { Signature } from './signature';

/**
 * Tasks run one after the other, each result passed as the first argument of the next unless it
 * is immutable (Celery's `chain(a, b, c)` / `a | b | c`). Sent as the first task with the rest in
 * `embed.chain`; resolves to the last task's AsyncResult, whose `parent` links go back step by
 * step. A failing step stops the chain and its error is stored on the remaining steps too.
 */
export function chain<TResult = unknown>(...steps: SignatureLike[]): Signature<TResult, AsyncResult<TResult>> {
  return new Signature(chainDict(steps.map(toSignatureDict)), appOf(steps));
}

/**
 * Tasks run in parallel (Celery's `group([...])`): one message per member with the `group`
 * header; resolves to a GroupResult whose `get()` gives the values in the group's order.
 */
export function group<TResult = unknown>(members: SignatureLike[]): Signature<TResult[], GroupResult<TResult>> {
  return new Signature(groupDict(members.map(toSignatureDict)), appOf(members));
}

/**
 * A group whose results, in order, are passed to `body` once every header task finished
 * (Celery's `chord(header, body)`); resolves to the body's AsyncResult (its `parent` is the
 * header's GroupResult). A failed header task fails the body with Celery's ChordError.
 */
export function chord<TResult = unknown>(header: SignatureLike[], body: SignatureLike): Signature<TResult, AsyncResult<TResult>> {
  return new Signature(chordDict(groupDict(header.map(toSignatureDict)), toSignatureDict(body)), appOf([...header, body]));
}

/** The client of the first bound signature: a workflow is sent through the app its tasks came from, as in Celery. */
function appOf(signatures: SignatureLike[]): CeleryClient | null {
  for (const candidate of signatures) {
    if (candidate instanceof Signature && candidate.app) return candidate.app;
  }
  return null;
}
