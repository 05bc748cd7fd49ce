import { CeleryError } from './celery.error';

/** A periodic task's schedule that cannot be understood: a crontab field, an interval, a time or a zone. */
export class InvalidScheduleError extends CeleryError {}
