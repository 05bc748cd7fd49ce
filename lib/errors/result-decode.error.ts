import { CeleryError } from './celery.error';

/**
 * A stored result exists but cannot be turned into a value: a pickle using a Python class this
 * module does not map, or a corrupt column.
 */
export class ResultDecodeError extends CeleryError {}
