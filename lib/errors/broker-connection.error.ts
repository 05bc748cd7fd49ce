import { CeleryError } from './celery.error';

/**
 * The broker could not be reached, or refused us, within the connection timeout. Celery logs the
 * same situation as "consumer: Cannot connect to amqp://…". The address in the message is masked.
 */
export class BrokerConnectionError extends CeleryError {
  constructor(
    /** The broker address, already masked. */
    readonly brokerDescription: string,
    /** What went wrong last (already masked), if anything was reported. */
    readonly lastError: string | undefined,
    message: string,
  ) {
    super(message);
  }

  /** No connection within `timeoutMs`. */
  static timedOut(brokerDescription: string, timeoutMs: number, lastError: string | undefined): BrokerConnectionError {
    const reason = lastError ? `last error: ${lastError}` : 'no answer yet';
    return new BrokerConnectionError(
      brokerDescription,
      lastError,
      `Could not connect to RabbitMQ at ${brokerDescription} within ${timeoutMs} ms (${reason}). ` +
        `Expected a reachable broker: check that it is running (for example \`rabbitmq-server -detached\`), ` +
        `the host, port and vhost, or raise connectTimeoutMs. Reconnection attempts continue until close() is called.`,
    );
  }

  /** The broker refused the login or the vhost: retrying would not help. */
  static refused(brokerDescription: string, reason: string): BrokerConnectionError {
    return new BrokerConnectionError(
      brokerDescription,
      reason,
      `RabbitMQ at ${brokerDescription} refused the connection: ${reason}. ` +
        `Expected valid credentials and an existing vhost the user may access; fix the broker URL or the user's permissions.`,
    );
  }

  /** The broker was closed while an operation waited for the connection. */
  static closed(brokerDescription: string): BrokerConnectionError {
    return new BrokerConnectionError(
      brokerDescription,
      undefined,
      `The broker ${brokerDescription} was closed while an operation waited for the connection; ` +
        `create a new broker, or do not close it while it is in use.`,
    );
  }
}
