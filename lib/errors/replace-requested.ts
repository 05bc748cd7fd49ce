import type { SignatureDict } from '../protocol/signature-dict';
import { CeleryError } from './celery.error';

/**
 * Thrown by `currentTask().replace(signature)` (Celery raises `Ignore('Replaced by new task')`
 * from `self.replace()`): the worker sends the replacement under this task's id and stores
 * nothing for the task itself. Never caught by autoretry.
 */
export class ReplaceRequested extends CeleryError {
  constructor(readonly replacement: SignatureDict) {
    super('Replaced by new task');
  }
}
