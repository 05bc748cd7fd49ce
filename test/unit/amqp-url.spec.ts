import { amqplibConnectOptions, parseAmqpUrl, parseAmqpUrls } from '../../lib/broker/amqp/amqp-url';
import { createBroker } from '../../lib/broker/create-broker';
import { QueueCatalog } from '../../lib/broker/queue-catalog';
import { resolveCeleryConfig } from '../../lib/runtime/celery-config';
import type { CeleryModuleOptions } from '../../lib/runtime/celery-module-options';
import { celeryOptionsFromEnv } from '../../lib/runtime/celery-options-from-env';
import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { brokerConnectionInfo } from '../../lib/remote-control/broker-connection-info';
import { InvalidBrokerUrlError } from '../../lib/errors/invalid-broker-url.error';
import { UnsupportedBrokerUrlError } from '../../lib/errors/unsupported-broker-url.error';
import { maskSecretsInText, maskUrl } from '../../lib/utils/mask-secrets';

/**
 * Each expectation is what kombu 5.2.4 (Celery 5.2.6) makes of the URL: `url_to_parts`, then
 * `Connection._info()` with the pyamqp transport's defaults, then `establish_connection`
 * (localhost → 127.0.0.1). The integration test amqp-url-kombu compares with kombu itself.
 */
const KOMBU_READINGS: [string, { host: string; port: number; userid: string; password: string; virtualHost: string; tls: boolean }][] = [
  ['amqp://guest@localhost', { host: '127.0.0.1', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://localhost', { host: '127.0.0.1', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://localhost/', { host: '127.0.0.1', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://localhost//', { host: '127.0.0.1', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://h/%2F', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://h/%2f', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://h///', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: '//', tls: false }],
  ['amqp://h/sales', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: 'sales', tls: false }],
  ['pyamqp://u:p%40x@h:1234/v%2Fx', { host: 'h', port: 1234, userid: 'u', password: 'p@x', virtualHost: 'v/x', tls: false }],
  ['amqps://h', { host: 'h', port: 5671, userid: 'guest', password: 'guest', virtualHost: '/', tls: true }],
  ['AMQP://User:P@ss@LOCALHOST:5673/Vh', { host: '127.0.0.1', port: 5673, userid: 'User', password: 'P@ss', virtualHost: 'Vh', tls: false }],
  ['amqp://:secret@h', { host: 'h', port: 5672, userid: 'guest', password: 'secret', virtualHost: '/', tls: false }],
  ['amqp://user:@h', { host: 'h', port: 5672, userid: 'user', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://', { host: '127.0.0.1', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://[::1]:5673/x', { host: '::1', port: 5673, userid: 'guest', password: 'guest', virtualHost: 'x', tls: false }],
  ['amqp://h:/x', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: 'x', tls: false }],
  ['amqp://h:0', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: '/', tls: false }],
  ['amqp://h/caf%C3%A9?heartbeat=5', { host: 'h', port: 5672, userid: 'guest', password: 'guest', virtualHost: 'café', tls: false }],
];

describe('an AMQP broker URL, read as kombu reads it', () => {
  it.each(KOMBU_READINGS)('%s', (url, expected) => {
    expect(parseAmqpUrl(url)).toMatchObject(expected);
  });

  it('keeps amqplib\'s own query parameters (heartbeat, frameMax, channelMax, locale) and ignores the others', () => {
    expect(parseAmqpUrl('amqp://h/?heartbeat=5&frameMax=8192&channelMax=7&locale=fr_FR&connect_timeout=3').tuning).toEqual({ heartbeat: 5, frameMax: 8192, channelMax: 7, locale: 'fr_FR' });
    expect(parseAmqpUrl('amqp://h').tuning).toEqual({});
  });

  it('checks a TLS certificate against the name written, also when localhost is connected to as 127.0.0.1', () => {
    expect(parseAmqpUrl('amqps://localhost')).toMatchObject({ host: '127.0.0.1', tlsServerName: 'localhost' });
    expect(parseAmqpUrl('amqps://Rabbit.Example:5671//')).toMatchObject({ host: 'rabbit.example', tlsServerName: 'rabbit.example' });
    // Node refuses an IP address as server name (RFC 6066); none is sent, as amqplib does.
    expect(parseAmqpUrl('amqps://10.0.0.1').tlsServerName).toBeUndefined();
    expect(parseAmqpUrl('amqp://localhost').tlsServerName).toBeUndefined();
  });

  it('is handed to amqplib as an object with the password filled in and the vhost encoded once more for amqplib to decode', () => {
    expect(amqplibConnectOptions(parseAmqpUrl('amqp://guest@localhost'))).toEqual({ protocol: 'amqp', hostname: '127.0.0.1', port: 5672, username: 'guest', password: 'guest', vhost: '%2F' });
    expect(amqplibConnectOptions(parseAmqpUrl('amqps://u:p@h/a%25b?heartbeat=9'))).toEqual({ protocol: 'amqps', hostname: 'h', port: 5671, username: 'u', password: 'p', vhost: 'a%25b', heartbeat: 9 });
  });

  it('refuses a port that is not a number or out of range, and another scheme, naming the URL masked', () => {
    expect(() => parseAmqpUrl('amqp://u:s3cret@h:abc')).toThrow(InvalidBrokerUrlError);
    expect(() => parseAmqpUrl('amqp://u:s3cret@h:abc')).toThrow('Invalid broker URL "amqp://u:***@h:abc": the port "abc" is not a number');
    expect(() => parseAmqpUrl('amqp://h:99999')).toThrow('the port 99999 is out of range 0-65535');
    expect(() => parseAmqpUrl('amqp://[::1')).toThrow(InvalidBrokerUrlError);
    expect(() => parseAmqpUrl('sqs://u:s3cret@h')).toThrow(UnsupportedBrokerUrlError);
    expect(() => parseAmqpUrl('sqs://u:s3cret@h')).not.toThrow(/s3cret/);
  });

  it('is reported by `inspect stats` as kombu reports it after connecting, without the password', () => {
    const info = brokerConnectionInfo({ url: 'amqp://guest@localhost' });
    expect(info).toMatchObject({ hostname: '127.0.0.1', userid: 'guest', virtual_host: '/', port: 5672, ssl: false, transport: 'amqp' });
    expect(info).not.toHaveProperty('password');
  });
});

describe('masking a broker URL', () => {
  it('hides the whole password, up to the last @ of the authority, as kombu reads it', () => {
    expect(maskUrl('amqp://u:p@ss@host//')).toBe('amqp://u:***@host//');
    expect(maskUrl('amqp://u:s3cret@host/v@x')).toBe('amqp://u:***@host/v@x');
    expect(maskSecretsInText('failed: amqp://u:p@ss@h1/ and redis://:t0p@h2/0')).toBe('failed: amqp://u:***@h1/ and redis://:***@h2/0');
  });

  it('leaves a URL without a password as it is (nothing to hide; kombu fills in guest)', () => {
    expect(maskUrl('amqp://guest@localhost')).toBe('amqp://guest@localhost');
    expect(maskUrl('amqp://localhost//')).toBe('amqp://localhost//');
  });
});

describe('a failover list of brokers, read as kombu reads `broker_url`', () => {
  it('splits on ;, and a later host-only entry takes the first URL\'s user, password, vhost and port', () => {
    const nodes = parseAmqpUrls('amqp://app:s3cret@rabbit1:5673/sales; amqp://other:pw2@rabbit2// ;rabbit3;rabbit4:5680');
    expect(nodes.map(({ address }) => [address.host, address.port, address.userid, address.password, address.virtualHost])).toEqual([
      ['rabbit1', 5673, 'app', 's3cret', 'sales'],
      ['rabbit2', 5672, 'other', 'pw2', '/'],
      ['rabbit3', 5673, 'app', 's3cret', 'sales'],
      ['rabbit4', 5680, 'app', 's3cret', 'sales'],
    ]);
    expect(nodes.map((node) => node.description)).toEqual(['amqp://app:***@rabbit1:5673/sales', 'amqp://other:***@rabbit2//', 'amqp://rabbit3:5673', 'amqp://rabbit4:5680']);
    expect(nodes.map((node) => node.description).join(' ')).not.toMatch(/s3cret|pw2/);
  });

  it('is one node for a plain URL, and refuses a list that names no broker or an entry without a host', () => {
    expect(parseAmqpUrls('amqp://guest@localhost')).toHaveLength(1);
    expect(() => parseAmqpUrls(' ; ')).toThrow(InvalidBrokerUrlError);
    expect(() => parseAmqpUrls('amqp://u:secret@a//;:5672')).toThrow(/names no host/);
    expect(() => parseAmqpUrls('amqp://u:secret@a//;:5672')).not.toThrow(/secret/);
  });

  it('masks every password of the list, not only the first', () => {
    expect(maskUrl('amqp://u:one@a//;amqp://u:two@b//;c')).toBe('amqp://u:***@a//;amqp://u:***@b//;c');
  });
});

describe('failover settings in the module options', () => {
  const config = (options: CeleryModuleOptions) => resolveCeleryConfig(validateCeleryOptions(options), null);

  it('takes a ; list or an array as Celery joins it, and makes queues quorum by default then (classic for one broker)', () => {
    expect(config({ broker: ['amqp://a//', 'amqp://b//'] }).broker.url).toBe('amqp://a//;amqp://b//');
    expect(config({ broker: { url: ['amqp://a//', 'b'], failoverStrategy: 'shuffle' } }).broker).toMatchObject({ url: 'amqp://a//;b', failoverStrategy: 'shuffle' });
    expect(config({ broker: 'amqp://a//;amqp://b//' }).defaultQueueType).toBe('quorum');
    expect(config({ broker: 'amqp://a//' }).defaultQueueType).toBe('classic');
    expect(config({ broker: 'amqp://a//;amqp://b//', taskDefaultQueueType: 'classic' }).defaultQueueType).toBe('classic');
  });

  it('refuses an unknown strategy, an empty list and an unknown queue type, naming Celery\'s settings', () => {
    expect(() => config({ broker: { url: 'amqp://a//;b', failoverStrategy: 'random' as never } })).toThrow(/broker\.failoverStrategy must be 'round-robin' or 'shuffle' \(Celery: broker_failover_strategy\)/);
    expect(() => config({ broker: [] })).toThrow(/broker is an empty list/);
    expect(() => config({ broker: 'amqp://a//', taskDefaultQueueType: 'stream' as never })).toThrow(/taskDefaultQueueType must be 'classic' or 'quorum' \(Celery: task_default_queue_type\)/);
  });

  it('refuses a failover list for Redis, which takes one URL', () => {
    expect(() => createBroker('redis://a:6379/0;redis://b:6379/0')).toThrow(/failover lists .* are supported for RabbitMQ \(amqp:\/\/\) only/);
  });

  it('declares the queues it was not told about as quorum queues when asked, as Celery 5.5 declares its default queue', () => {
    const catalog = new QueueCatalog({ urgent: { maxPriority: 10 } }, 'quorum');
    expect(catalog.declaration('celery').arguments).toEqual({ 'x-queue-type': 'quorum' });
    expect(catalog.declaration('urgent').arguments).toEqual({ 'x-max-priority': 10 });
    expect(new QueueCatalog({}).declaration('celery').arguments).toEqual({});
  });

  it('reads CELERY_TASK_DEFAULT_QUEUE_TYPE as the sample app and a Django settings file name it', () => {
    expect(celeryOptionsFromEnv({ CELERY_BROKER_URL: 'amqp://a//;amqp://b//', CELERY_TASK_DEFAULT_QUEUE_TYPE: 'quorum' })).toMatchObject({ broker: 'amqp://a//;amqp://b//', taskDefaultQueueType: 'quorum' });
  });
});
