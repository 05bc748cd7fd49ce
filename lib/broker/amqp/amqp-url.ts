import { isIP } from 'node:net';
import type { Options } from 'amqplib';
import { InvalidBrokerUrlError } from '../../errors/invalid-broker-url.error';
import { UnsupportedBrokerUrlError } from '../../errors/unsupported-broker-url.error';
import { maskUrl } from '../../utils/mask-secrets';

/** URL schemes the AMQP broker accepts; `pyamqp` is Celery's name for the same transport. */
export const AMQP_URL_SCHEMES = ['amqp', 'amqps', 'pyamqp'] as const;

/**
 * What kombu fills in for a part the URL leaves out: user and password `guest`, port 5672 (5671
 * with TLS) from the pyamqp transport's `default_connection_params`, vhost `/` from
 * `Connection.virtual_host`, host `localhost`.
 */
const KOMBU_DEFAULTS = { userid: 'guest', password: 'guest', port: 5672, tlsPort: 5671, virtualHost: '/', hostname: 'localhost' } as const;

/** amqplib's own URL parameters, honoured in the query as amqplib did when it parsed the URL itself. */
export interface AmqpTuning {
  heartbeat?: number;
  frameMax?: number;
  channelMax?: number;
  locale?: string;
}

/** Where and as whom an AMQP broker URL connects, every default applied. */
export interface AmqpAddress {
  /** amqps:// */
  tls: boolean;
  /** The host connected to: `localhost` is 127.0.0.1, as kombu's pyamqp transport connects (see parseAmqpUrl). */
  host: string;
  /** The name a TLS certificate is checked against (SNI): the host as written; undefined without TLS or for an IP address. */
  tlsServerName: string | undefined;
  port: number;
  userid: string;
  password: string;
  virtualHost: string;
  tuning: AmqpTuning;
}

/** The scheme of a URL in lower case ("amqp" for "AMQP://…"), or undefined if there is none. */
export function urlScheme(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
}

/**
 * Reads a broker URL exactly as Celery 5.2.6 does (kombu 5.2.4 `url_to_parts` over Python's
 * `urlsplit`, then `Connection._info` and the pyamqp transport's defaults), so a Django setting
 * such as `amqp://guest@localhost` reaches the same broker as the same user:
 *
 * - user and password are percent-decoded; a missing or empty one is `guest`;
 * - the vhost is the path without its first `/`, percent-decoded: `amqp://host`, `amqp://host/`,
 *   `amqp://host//` and `amqp://host/%2F` all mean `/`; `amqp://host/sales` means `sales`;
 * - the host is lower-cased; none is `localhost`; port 5672, or 5671 for amqps://;
 * - `@` inside the password needs no escaping: the last `@` ends the user part.
 *
 * `localhost` is connected to as 127.0.0.1, as kombu's pyamqp transport does
 * (`establish_connection`): where `localhost` resolves to ::1 first and RabbitMQ listens on IPv4
 * only, connecting by name would be refused. TLS still checks the certificate against `localhost`.
 * Throws UnsupportedBrokerUrlError for another scheme, InvalidBrokerUrlError for a bad port.
 */
export function parseAmqpUrl(url: string): AmqpAddress {
  const scheme = urlScheme(url);
  if (!scheme || !(AMQP_URL_SCHEMES as readonly string[]).includes(scheme)) {
    throw new UnsupportedBrokerUrlError(maskUrl(url), scheme ?? '', AMQP_URL_SCHEMES, []);
  }
  const parts = splitUrl(url.slice(scheme.length + 3), url);
  const tls = scheme === 'amqps';
  const hostname = parts.hostname || KOMBU_DEFAULTS.hostname;
  return {
    tls,
    host: hostname === 'localhost' ? '127.0.0.1' : hostname,
    tlsServerName: tls && isIP(hostname) === 0 ? hostname : undefined,
    port: parts.port || (tls ? KOMBU_DEFAULTS.tlsPort : KOMBU_DEFAULTS.port),
    userid: parts.username || KOMBU_DEFAULTS.userid,
    password: parts.password || KOMBU_DEFAULTS.password,
    virtualHost: parts.path || KOMBU_DEFAULTS.virtualHost,
    tuning: tuningOf(new URLSearchParams(parts.query)),
  };
}

/** One broker of a failover list: its address and how logs name it (password masked). */
export interface AmqpNode {
  address: AmqpAddress;
  description: string;
}

/**
 * The brokers of a `broker_url` as kombu reads a failover list: URLs separated by `;`. A later
 * entry without a scheme is a host (and port) only, as kombu's `Connection.switch()` takes it:
 * user, password, vhost, TLS and port default to the first URL's. One URL is a list of one.
 */
export function parseAmqpUrls(url: string): AmqpNode[] {
  const entries = url.split(';').map((entry) => entry.trim()).filter((entry) => entry !== '');
  if (entries.length === 0) throw new InvalidBrokerUrlError(maskUrl(url), 'it names no broker');
  const first = parseAmqpUrl(entries[0]);
  return entries.map((entry, index) => {
    if (index === 0) return { address: first, description: maskUrl(entry) };
    if (entry.includes('://')) return { address: parseAmqpUrl(entry), description: maskUrl(entry) };
    const parts = splitUrl(entry, url);
    if (parts.hostname === '') throw new InvalidBrokerUrlError(maskUrl(url), `"${maskUrl(entry)}" names no host`);
    const address: AmqpAddress = {
      ...first,
      host: parts.hostname === 'localhost' ? '127.0.0.1' : parts.hostname,
      tlsServerName: first.tls && isIP(parts.hostname) === 0 ? parts.hostname : undefined,
      port: parts.port || first.port,
    };
    return { address, description: `${first.tls ? 'amqps' : 'amqp'}://${parts.hostname}:${address.port}` };
  });
}

/**
 * The address in amqplib's object form, so nothing is parsed twice: amqplib's own URL parser
 * would send `amqp://guest@localhost` with an empty password. amqplib percent-decodes the vhost
 * of the object form once more, hence encoded here.
 */
export function amqplibConnectOptions(address: AmqpAddress): Options.Connect {
  return {
    protocol: address.tls ? 'amqps' : 'amqp',
    hostname: address.host,
    port: address.port,
    username: address.userid,
    password: address.password,
    vhost: encodeURIComponent(address.virtualHost),
    ...address.tuning,
  };
}

interface UrlParts {
  hostname: string;
  port: number;
  username: string;
  password: string;
  path: string;
  query: string;
}

/**
 * Python's `urlsplit('http://' + schemeless)` as kombu calls it, then kombu's `unquote(x or '')`:
 * the authority ends at the first `/`, `?` or `#`; user info at the last `@`; empty parts are ''
 * (kombu then applies its defaults); port 0 counts as missing, as in kombu (`self.port or …`).
 */
function splitUrl(schemeless: string, url: string): UrlParts {
  // urlsplit drops tabs and newlines anywhere, and C0 controls and spaces around the URL.
  const text = schemeless.replace(/[\t\r\n]/g, '').replace(/[\x00-\x20]+$/, '');
  const authorityEnd = text.search(/[/?#]/);
  const authority = authorityEnd < 0 ? text : text.slice(0, authorityEnd);
  const rest = authorityEnd < 0 ? '' : text.slice(authorityEnd);
  const pathEnd = rest.search(/[?#]/);
  const path = pathEnd < 0 ? rest : rest.slice(0, pathEnd);
  const query = pathEnd >= 0 && rest[pathEnd] === '?' ? rest.slice(pathEnd + 1).split('#')[0] : '';

  const at = authority.lastIndexOf('@');
  const userInfo = at < 0 ? '' : authority.slice(0, at);
  const hostInfo = authority.slice(at + 1);
  const colon = userInfo.indexOf(':');
  const username = colon < 0 ? userInfo : userInfo.slice(0, colon);
  const password = colon < 0 ? '' : userInfo.slice(colon + 1);

  let hostname: string;
  let portText: string;
  if (hostInfo.includes('[') || hostInfo.includes(']')) {
    const bracketed = /^\[([^\]]*)\](?::(.*))?$/.exec(hostInfo);
    if (!bracketed) throw new InvalidBrokerUrlError(maskUrl(url), `"${hostInfo}" is not a host name nor a bracketed IPv6 address`);
    [, hostname, portText = ''] = bracketed;
  } else {
    const portColon = hostInfo.indexOf(':');
    hostname = portColon < 0 ? hostInfo : hostInfo.slice(0, portColon);
    portText = portColon < 0 ? '' : hostInfo.slice(portColon + 1);
  }
  return {
    hostname: unquote(hostname.toLowerCase()),
    port: portOf(portText, url),
    username: unquote(username),
    password: unquote(password),
    path: unquote(path.startsWith('/') ? path.slice(1) : path),
    query,
  };
}

function portOf(text: string, url: string): number {
  if (text === '') return 0;
  if (!/^[0-9]+$/.test(text)) throw new InvalidBrokerUrlError(maskUrl(url), `the port "${text}" is not a number`);
  const port = Number(text);
  if (port > 65535) throw new InvalidBrokerUrlError(maskUrl(url), `the port ${port} is out of range 0-65535`);
  return port;
}

/** Python's `urllib.parse.unquote`: %XX runs decoded as UTF-8 (invalid bytes become U+FFFD), anything else kept. */
function unquote(text: string): string {
  return text.replace(/(?:%[0-9a-f]{2})+/gi, (run) => Buffer.from(run.replace(/%/g, ''), 'hex').toString('utf8'));
}

function tuningOf(query: URLSearchParams): AmqpTuning {
  const integer = (name: string): number | undefined => {
    const value = query.get(name);
    return value === null || !/^\d+$/.test(value) ? undefined : Number(value);
  };
  const tuning: AmqpTuning = { heartbeat: integer('heartbeat'), frameMax: integer('frameMax'), channelMax: integer('channelMax'), locale: query.get('locale') ?? undefined };
  return Object.fromEntries(Object.entries(tuning).filter(([, value]) => value !== undefined)) as AmqpTuning;
}
