import { CeleryError } from './celery.error';

/**
 * A message was not accepted by the broker: nacked, unroutable (published as mandatory with no
 * queue bound), sent to an exchange that does not exist, or lost with its channel. Celery's
 * equivalent is kombu raising from `Producer.publish` (for instance `amqp.exceptions.NotFound`).
 * The static factories hold the wording, so every layer reports a given failure the same way.
 */
export class PublishError extends CeleryError {
  constructor(
    message: string,
    /** The exchange the message was published to ("" is the default exchange). */
    readonly exchange: string,
    /** The routing key it was published with. */
    readonly routingKey: string,
    options?: { cause?: unknown },
  ) {
    super(message, options);
  }

  /** RabbitMQ returned a mandatory message: no queue is bound for its routing key. */
  static unroutable(exchange: string, routingKey: string, brokerReason: string): PublishError {
    const where =
      exchange === ''
        ? `the default exchange "" with routing key "${routingKey}" (no queue named "${routingKey}" exists)`
        : `exchange "${exchange}" with routing key "${routingKey}" (no queue is bound to it with a matching key)`;
    return new PublishError(
      `The message published to ${where} was returned as unroutable (${brokerReason}), so it would have been lost. ` +
        `Expected a queue to receive it: declare the queue (and its binding) before publishing, ` +
        `or start a worker that consumes that queue so it declares it.`,
      exchange,
      routingKey,
    );
  }

  /** The exchange named in the publish does not exist (RabbitMQ closes the channel with 404 NOT_FOUND). */
  static exchangeNotFound(exchange: string, routingKey: string): PublishError {
    return new PublishError(
      `Cannot publish to exchange "${exchange}" (routing key "${routingKey}"): the exchange does not exist. ` +
        `Declare it first (declare the queue bound to it, or the exchange itself), or publish to an existing exchange.`,
      exchange,
      routingKey,
    );
  }

  /** The broker refused responsibility for the message (basic.nack). */
  static nacked(exchange: string, routingKey: string): PublishError {
    return new PublishError(
      `RabbitMQ refused the message published to exchange "${exchange}" with routing key "${routingKey}" (basic.nack), ` +
        `so it was not stored. This happens when a queue is full with x-overflow=reject-publish or on an internal broker error; ` +
        `check the RabbitMQ logs and queue limits, then publish again.`,
      exchange,
      routingKey,
    );
  }

  /** RabbitMQ closed the publishing channel because of this message, repeatedly. */
  static channelError(exchange: string, routingKey: string, brokerReason: string): PublishError {
    return new PublishError(
      `RabbitMQ closed the channel while the message to exchange "${exchange}" (routing key "${routingKey}") ` +
        `was unconfirmed, twice: ${brokerReason}. Expected the broker to accept it; check the message properties ` +
        `(expiration, size, headers) against the broker's limits.`,
      exchange,
      routingKey,
    );
  }

  /** The message could not even be encoded or written (for example headers over 64 KiB). */
  static notSendable(exchange: string, routingKey: string, cause: unknown): PublishError {
    const reason = cause instanceof Error ? cause.message : String(cause);
    return new PublishError(
      `The message to exchange "${exchange}" (routing key "${routingKey}") could not be sent: ${reason}. ` +
        `Expected encodable properties; keep headers under 64 KiB and use only AMQP field-table values.`,
      exchange,
      routingKey,
      { cause },
    );
  }

  /** The broker was closed before the message was confirmed. */
  static brokerClosed(exchange: string, routingKey: string, brokerDescription: string): PublishError {
    return new PublishError(
      `The broker ${brokerDescription} was closed before the message to exchange "${exchange}" ` +
        `(routing key "${routingKey}") was confirmed; it may or may not have been stored. ` +
        `Publish before closing the broker, or await pending publishes first.`,
      exchange,
      routingKey,
    );
  }
}
