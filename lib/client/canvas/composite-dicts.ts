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
