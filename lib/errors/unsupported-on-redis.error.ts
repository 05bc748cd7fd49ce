import { CeleryError } from './celery.error';

/**
 * Something RabbitMQ does that kombu's Redis transport cannot emulate (exchange-to-exchange
 * bindings, for instance). Celery raises NotImplementedError in the same places.
 */
export class UnsupportedOnRedisError extends CeleryError {
  constructor(what: string, advice: string) {
    super(`${what} is not supported on the Redis broker (kombu's Redis transport has no equivalent). ${advice}`);
  }
}
