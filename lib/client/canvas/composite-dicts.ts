import { SignatureDict } from '../../protocol/signature-dict';

/** Celery's dict of `chain(*tasks)`: task `celery.chain`, the steps in `kwargs.tasks`. */
export function chainDict(tasks: SignatureDict[], options: Record<string, unknown> = {}): SignatureDict {
  return { task: 'celery.chain', args: [], kwargs: { tasks }, options, subtask_type: 'chain', immutable: false };
}

/** Celery's dict of `group(tasks)`: task `celery.group`, the members in `kwargs.tasks`. */
export function groupDict(tasks: SignatureDict[], options: Record<string, unknown> = {}): SignatureDict {
  return { task: 'celery.group', args: [], kwargs: { tasks }, options, subtask_type: 'group', immutable: false };
}

/** Celery's dict of `chord(header, body)`: `kwargs = {header, body, kwargs: {}}`. */
export function chordDict(header: SignatureDict, body: SignatureDict, options: Record<string, unknown> = {}): SignatureDict {
  return { task: 'celery.chord', args: [], kwargs: { header, body, kwargs: {} }, options, subtask_type: 'chord', immutable: false };
}

/** The built-in task a map-like signature is sent as (celery/app/builtins.py). */
export const MAP_TASK = 'celery.map';
export const STARMAP_TASK = 'celery.starmap';
export const CHUNKS_TASK = 'celery.chunks';

/** Celery's dict of `xmap(task, it)` (`add.map(it)`): `celery.map` with kwargs `{task, it}`, immutable. */
export function xmapDict(task: SignatureDict, it: unknown[], options: Record<string, unknown> = {}): SignatureDict {
  return { task: MAP_TASK, args: [], kwargs: { task, it }, options, subtask_type: 'xmap', immutable: true };
}

/** Celery's dict of `xstarmap(task, it)` (`add.starmap(it)`): `celery.starmap` with kwargs `{task, it}`, immutable. */
export function xstarmapDict(task: SignatureDict, it: unknown[], options: Record<string, unknown> = {}): SignatureDict {
  return { task: STARMAP_TASK, args: [], kwargs: { task, it }, options, subtask_type: 'xstarmap', immutable: true };
}

/** Celery's dict of `chunks(task, it, n)` (`add.chunks(it, n)`): `celery.chunks` with kwargs `{task, it, n}`, immutable. */
export function chunksDict(task: SignatureDict, it: unknown[], n: number, options: Record<string, unknown> = {}): SignatureDict {
  return { task: CHUNKS_TASK, args: [], kwargs: { task, it, n }, options, subtask_type: 'chunks', immutable: true };
}

/**
 * What chunks are sent as (Celery's `chunks.group()`): a group of one `xstarmap` per run of `n`
 * items, in order, each a list of the task's argument lists.
 */
export function chunksAsGroup(chunks: SignatureDict): SignatureDict {
  const { task, it, n } = chunks.kwargs as { task: SignatureDict; it: unknown[]; n: number };
  const parts: SignatureDict[] = [];
  for (let start = 0; start < it.length; start += n) parts.push(xstarmapDict(task, it.slice(start, start + n)));
  return groupDict(parts, chunks.options);
}
