import { CeleryError } from './celery.error';

/**
 * The broker URL names a transport this module does not implement. Celery's equivalent is kombu's
 * "No such transport" error for `broker_url`.
 */
export class UnsupportedBrokerUrlError extends CeleryError {
  constructor(
    /** The URL as given, masked. */
    readonly url: string,
    /** The scheme we did not recognise, for example "kafka". */
    readonly scheme: string,
    supportedSchemes: readonly string[],
    notYetSupported: readonly string[],
  ) {
    const later = notYetSupported.includes(scheme)
      ? ` "${scheme}://" is not yet supported (planned).`
      : notYetSupported.length > 0
        ? ` (${notYetSupported.map((s) => `${s}://`).join(', ')}: not yet supported.)`
        : '';
    const problem = scheme === '' ? 'it has no scheme' : `scheme "${scheme}://" is not a known transport`;
    super(
      `Unsupported broker URL "${url}": ${problem}.${later} ` +
        `Expected one of ${supportedSchemes.map((s) => `${s}://`).join(', ')}; ` +
        `use amqp://user:password@host:5672/vhost for RabbitMQ, or memory:// (or no URL) for the in-process broker.`,
    );
  }
}
