import { type LocalSqsServer, startLocalSqsServer } from './local-sqs-server';

export type { LocalSqsServer } from './local-sqs-server';

/** Any credentials do: the local server checks no signature. */
const TEST_CREDENTIALS = 'test:test';

/**
 * Starts the local SQS-compatible server on a free port of 127.0.0.1, in this process. It needs
 * nothing installed, so it cannot be missing; a port it cannot bind fails the test.
 */
export function startLocalSqs(): Promise<LocalSqsServer> {
  return startLocalSqsServer(0);
}

/**
 * The broker URL for the server as Celery writes it (`sqs://key:secret@host:port`: kombu makes
 * the endpoint http://host:port), with our transport options in Celery's names in the query.
 * Python gets it without the query (kombu would take them for connection arguments): give it
 * the same options as `broker_transport_options` (InteropSettings.transportOptions).
 */
export function sqsBrokerUrl(server: LocalSqsServer, transportOptions: Record<string, string | number> = {}): string {
  const query = new URLSearchParams(Object.entries(transportOptions).map(([key, value]): [string, string] => [key, String(value)])).toString();
  return `sqs://${TEST_CREDENTIALS}@127.0.0.1:${server.port}${query ? `?${query}` : ''}`;
}
