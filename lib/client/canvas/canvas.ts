import type { AsyncResult } from '../async-result';
import type { CeleryClient } from '../celery-client';
import { SignatureLike, toSignatureDict } from '../../protocol/signature-dict';
import { chainDict, chordDict, chunksDict, groupDict, xmapDict, xstarmapDict } from './composite-dicts';
import { InvalidSendOptionsError } from '../../errors/invalid-send-options.error';
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

/**
 * The task called once per item, one after the other in one worker process, not in parallel
 * (Celery's `add.map(it)` / `xmap`): sent as Celery's built-in `celery.map`, routed as the task
 * is; resolves to an AsyncResult of the list of results. The worker that runs it must have the
 * task registered (ours and Python's both run `celery.map`).
 */
export function xmap<TResult = unknown>(task: SignatureLike, it: Iterable<unknown>): Signature<TResult[], AsyncResult<TResult[]>> {
  return new Signature(xmapDict(toSignatureDict(task), itemsOf('xmap', task, it)), appOf([task]));
}

/** As xmap(), each item being the task's argument list (Celery's `add.starmap(it)` / `xstarmap`, `celery.starmap`). */
export function xstarmap<TResult = unknown>(task: SignatureLike, it: Iterable<readonly unknown[]>): Signature<TResult[], AsyncResult<TResult[]>> {
  return new Signature(xstarmapDict(toSignatureDict(task), argumentLists('xstarmap', task, it)), appOf([task]));
}

/**
 * Argument lists split into runs of `n` (Celery's `add.chunks(it, n)`): sent as a group of one
 * `celery.starmap` per run, as Celery sends it; resolves to a GroupResult whose `get()` gives one
 * list of results per run.
 */
export function chunks<TResult = unknown>(task: SignatureLike, it: Iterable<readonly unknown[]>, n: number): Signature<TResult[][], GroupResult<TResult[]>> {
  if (!Number.isInteger(n) || n < 1) throw new InvalidSendOptionsError(toSignatureDict(task).task, `chunks(task, it, n): n must be a whole number of items per chunk, 1 or more, got ${String(n)}`);
  return new Signature(chunksDict(toSignatureDict(task), argumentLists('chunks', task, it), n), appOf([task]));
}

function itemsOf(kind: string, task: SignatureLike, it: Iterable<unknown>): unknown[] {
  if (it === null || typeof (it as Iterable<unknown>)?.[Symbol.iterator] !== 'function') {
    throw new InvalidSendOptionsError(toSignatureDict(task).task, `${kind}(task, it): it must be an array or another iterable of items, got ${typeof it}`);
  }
  return [...it];
}

function argumentLists(kind: string, task: SignatureLike, it: Iterable<readonly unknown[]>): unknown[][] {
  const items = itemsOf(kind, task, it);
  const bad = items.findIndex((item) => !Array.isArray(item));
  if (bad >= 0) {
    throw new InvalidSendOptionsError(toSignatureDict(task).task, `${kind}(task, it): every item must be an array of the task's positional arguments; item ${bad} is ${typeof items[bad]}`);
  }
  return items as unknown[][];
}

/** The client of the first bound signature: a workflow is sent through the app its tasks came from, as in Celery. */
function appOf(signatures: SignatureLike[]): CeleryClient | null {
  for (const candidate of signatures) {
    if (candidate instanceof Signature && candidate.app) return candidate.app;
  }
  return null;
}
