import { amqplibConnectOptions, parseAmqpUrl } from '../../lib/broker/amqp/amqp-url';
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
