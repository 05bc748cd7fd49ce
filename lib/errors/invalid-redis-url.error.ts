import { CeleryError } from './celery.error';

/**
 * A `redis://` / `rediss://` URL that cannot be used: bad port, database number or TLS setting.
 * Celery's equivalent is redis-py's `ValueError` from `from_url`. The URL in the message is masked.
 */
export class InvalidRedisUrlError extends CeleryError {
  constructor(
    /** The URL as given, masked. */
    readonly url: string,
    problem: string,
  ) {
    super(
      `Invalid Redis URL "${url}": ${problem}. Expected redis://[[user]:password@]host[:port][/db] ` +
        `(or rediss:// for TLS, with ?ssl_cert_reqs=required|optional|none), db a number from 0 to 15 by default.`,
    );
  }
}
