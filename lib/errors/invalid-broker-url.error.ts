import { CeleryError } from './celery.error';

/**
 * An `amqp://` / `amqps://` / `pyamqp://` URL that cannot be read, such as a port that is not a
 * number. Celery's equivalent is the `ValueError` Python's `urllib.parse` raises from kombu's
 * `parse_url`. The URL in the message is masked.
 */
export class InvalidBrokerUrlError extends CeleryError {
  constructor(
    /** The URL as given, masked. */
    readonly url: string,
    problem: string,
  ) {
    super(
      `Invalid broker URL "${url}": ${problem}. Expected amqp://[user[:password]@]host[:port][/vhost] ` +
        `(amqps:// for TLS, pyamqp:// as Celery's alias); a missing user or password is "guest", a missing port 5672 ` +
        `(5671 for amqps), a missing vhost "/"; percent-encode "/", "?", "#" and "@" inside the user, password or vhost.`,
    );
  }
}
