import { CeleryError } from './celery.error';

/**
 * An `sqs://` broker URL or SQS transport option that cannot be used. Celery's equivalent is
 * kombu's SQS transport failing on its `broker_transport_options`. Credentials are never shown.
 */
export class InvalidSqsUrlError extends CeleryError {
  constructor(
    /** The URL with its credentials masked. */
    readonly url: string,
    problem: string,
  ) {
    super(
      `Invalid SQS broker settings for "${url}": ${problem}. Expected sqs:// (credentials from the standard AWS chain: ` +
        `environment, shared config files, instance or task role) or sqs://<access key id>:<secret access key>@ with the ` +
        `secret percent-encoded ("/" as %2F, "+" as %2B), optionally a host[:port] of an SQS-compatible server, and ` +
        `?region=…&queue_name_prefix=…&visibility_timeout=…&polling_interval=…&wait_time_seconds=… as in Celery's broker_transport_options.`,
    );
  }
}
