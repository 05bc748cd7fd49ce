import { resolveAmqpBrokerOptions } from '../broker/amqp/amqp-broker-options';
import { AMQP_URL_SCHEMES, urlScheme } from '../broker/amqp/amqp-url';

/** The broker settings `stats` reports: the URL and the two settings kombu's info() shows. */
export interface BrokerConnectionSettings {
  /** Undefined: the in-process broker. */
  url?: string;
  heartbeatSeconds?: number;
  connectTimeoutMs?: number;
}

/**
 * kombu's `Connection.info()` as a Celery worker reports it in `stats.broker` (Fx
 * worker_pidbox_stats), without the password, as Celery pops it: host, user, virtual host, port,
 * transport, timeouts. Defaults are the broker's own (resolveAmqpBrokerOptions).
 */
export function brokerConnectionInfo(settings: BrokerConnectionSettings): Record<string, unknown> {
  const scheme = settings.url === undefined ? 'memory' : (urlScheme(settings.url) ?? 'memory');
  const isAmqp = (AMQP_URL_SCHEMES as readonly string[]).includes(scheme);
  if (!isAmqp || settings.url === undefined) return connectionInfo({ hostname: 'localhost', userid: null, virtualHost: '/', port: null, ssl: false, transport: 'memory' }, null, null);
  const resolved = resolveAmqpBrokerOptions({ url: settings.url, heartbeatSeconds: settings.heartbeatSeconds, connectTimeoutMs: settings.connectTimeoutMs });
  const { address } = resolved;
  return connectionInfo(
    {
      // kombu reports the host it connected to: 127.0.0.1 for localhost (parseAmqpUrl).
      hostname: address.host,
      userid: address.userid,
      virtualHost: address.virtualHost,
      port: address.port,
      ssl: address.tls,
      transport: 'amqp',
    },
    resolved.connectTimeoutMs / 1000,
    resolved.heartbeatSeconds,
  );
}

function connectionInfo(
  where: { hostname: string; userid: string | null; virtualHost: string; port: number | null; ssl: boolean; transport: string },
  connectTimeoutSeconds: number | null,
  heartbeatSeconds: number | null,
): Record<string, unknown> {
  return {
    hostname: where.hostname,
    userid: where.userid,
    virtual_host: where.virtualHost,
    port: where.port,
    insist: false,
    ssl: where.ssl,
    transport: where.transport,
    connect_timeout: connectTimeoutSeconds,
    transport_options: {},
    login_method: where.transport === 'amqp' ? 'PLAIN' : null,
    uri_prefix: null,
    heartbeat: heartbeatSeconds,
    failover_strategy: 'round-robin',
    alternates: [],
  };
}
