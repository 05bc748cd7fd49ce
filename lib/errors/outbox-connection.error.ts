import { CeleryError } from './celery.error';

/** The outbox's database could not be reached or its table could not be created at start-up. */
export class OutboxConnectionError extends CeleryError {}
