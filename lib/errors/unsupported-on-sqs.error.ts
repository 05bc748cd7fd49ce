import { CeleryError } from './celery.error';

/**
 * Something the SQS broker cannot do because SQS has no equivalent: broadcast (fanout, so no
 * remote control and no events), topic routing, priorities. Celery on SQS lacks the same
 * (kombu's SQS transport implements the direct exchange type only); where Celery silently drops
 * or ignores, we refuse with this error, at start-up when the configuration already says so.
 */
export class UnsupportedOnSqsError extends CeleryError {
  constructor(what: string, advice: string) {
    super(`${what} is not supported on the SQS broker (Amazon SQS has no equivalent, and Celery's SQS transport has none either). ${advice}`);
  }
}
