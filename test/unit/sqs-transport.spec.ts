import { encodeSqsBody, decodeSqsBody } from '../../lib/broker/sqs/sqs-message-body';
import { canonicalSqsQueueName, sqsEntityName } from '../../lib/broker/sqs/sqs-queue-names';
import { resolveSqsSettings } from '../../lib/broker/sqs/sqs-settings';
import { envelopeBody, envelopeProperties } from '../../lib/broker/kombu-envelope';
import { maskUrl } from '../../lib/utils/mask-secrets';

/**
 * The pure parts of the SQS broker, against kombu 5.2.6's SQS transport: its queue names
 * (`entity_name`, vectors computed with kombu itself), the body it puts in SQS, and how Celery's
 * sqs:// URL and transport options read.
 */
describe('SQS queue names (kombu entity_name)', () => {
  it.each([
    ['celery', 'celery'],
    ['a.b.c', 'a-b-c'],
    ['x:y@z/w', 'x_y_z_w'],
    ['q.fifo', 'q.fifo'],
    ['a.b.fifo', 'a-b.fifo'],
    ['emails.high-priority_1', 'emails-high-priority_1'],
    ['we{ir}d!"#$%&\'()*+,/:;<=>?@[\\]^`|~', 'we_ir_d___________________________'],
  ])('%s → %s', (name, expected) => {
    expect(sqsEntityName(name)).toBe(expected);
  });

  it('puts queue_name_prefix first, then makes the whole legal', () => {
    expect(canonicalSqsQueueName('prod.', 'celery')).toBe('prod-celery');
    expect(canonicalSqsQueueName('', 'celery')).toBe('celery');
  });
});

describe('SQS message bodies (kombu _put / _message_to_python)', () => {
  const message = {
    exchange: '',
    routingKey: 'celery',
    body: Buffer.from('[[2, 2], {}, {}]'),
    properties: { contentType: 'application/json', contentEncoding: 'utf-8', headers: { task: 'tasks.add', id: 'abc' }, correlationId: 'abc', deliveryMode: 2 as const, priority: 0 },
  };

  it('is the kombu envelope as JSON, base64-encoded, and reads back', () => {
    const body = encodeSqsBody(message, 'tag-1');
    const json = JSON.parse(Buffer.from(body, 'base64').toString('utf8'));
    expect(json).toEqual({
      body: Buffer.from('[[2, 2], {}, {}]').toString('base64'),
      'content-encoding': 'utf-8',
      'content-type': 'application/json',
      headers: { task: 'tasks.add', id: 'abc' },
      properties: { correlation_id: 'abc', delivery_mode: 2, delivery_info: { exchange: '', routing_key: 'celery' }, priority: 0, body_encoding: 'base64', delivery_tag: 'tag-1' },
    });
    const envelope = decodeSqsBody(body);
    expect(envelopeBody(envelope).toString()).toBe('[[2, 2], {}, {}]');
    expect(envelopeProperties(envelope)).toMatchObject({ correlationId: 'abc', headers: { task: 'tasks.add', id: 'abc' } });
  });

  it('reads a body sent without the outer base64 (sqs_base64_encoding=False), as kombu does', () => {
    const plain = Buffer.from(encodeSqsBody(message, 'tag-2'), 'base64').toString('utf8');
    expect(envelopeBody(decodeSqsBody(plain)).toString()).toBe('[[2, 2], {}, {}]');
  });

  it('wraps JSON that is not a kombu envelope as the body of one, as kombu does, and throws on text that is not JSON', () => {
    const envelope = decodeSqsBody(Buffer.from('{"hello": "world"}').toString('base64'));
    expect(envelopeBody(envelope).toString()).toBe('{"hello": "world"}');
    expect(() => decodeSqsBody('not json at all')).toThrow();
  });
});

describe('sqs:// URLs and transport options', () => {
  it('reads Celery\'s forms: the AWS chain, credentials in the URL (percent-encoded), and an SQS-compatible host', () => {
    expect(resolveSqsSettings('sqs://')).toMatchObject({ credentials: undefined, endpoint: undefined, region: undefined, visibilityTimeoutSeconds: 1800, waitTimeSeconds: 10, pollingIntervalMs: 1000, queueNamePrefix: '' });
    expect(resolveSqsSettings('sqs://AKIAEXAMPLE:se%2Fcr%2Bet@').credentials).toEqual({ accessKeyId: 'AKIAEXAMPLE', secretAccessKey: 'se/cr+et' });
    expect(resolveSqsSettings('sqs://k:s@localhost:9324').endpoint).toBe('http://localhost:9324');
    expect(resolveSqsSettings('sqs://k:s@sqs.example.com?is_secure=true').endpoint).toBe('https://sqs.example.com');
  });

  it('takes transport options from the query in Celery\'s names; the options object wins', () => {
    const url = 'sqs://?region=eu-west-1&queue_name_prefix=prod-&visibility_timeout=120&wait_time_seconds=2&polling_interval=0.5';
    expect(resolveSqsSettings(url)).toMatchObject({ region: 'eu-west-1', queueNamePrefix: 'prod-', visibilityTimeoutSeconds: 120, waitTimeSeconds: 2, pollingIntervalMs: 500 });
    expect(resolveSqsSettings(url, { region: 'us-west-2', waitTimeSeconds: 20 }, 30)).toMatchObject({ region: 'us-west-2', waitTimeSeconds: 20, visibilityTimeoutSeconds: 30 });
  });

  it.each([
    ['sqs://?wait_time_seconds=21', /wait_time_seconds 21 is not a whole number of seconds from 0 to 20/],
    ['sqs://?visibility_timeout=50000', /visibility timeout 50000 is not a whole number of seconds from 0 to 43200/],
    ['sqs://?polling_interval=soon', /polling_interval=soon is not a number/],
    ['sqs://onlykey:@', /give both the access key id and the secret access key, or neither/],
    ['sqs://?region=Europe%20West', /the region "Europe West" is not an AWS region name/],
  ])('refuses %s, saying what is wrong', (url, problem) => {
    expect(() => resolveSqsSettings(url)).toThrow(problem);
  });

  it('refuses predefined queues whose FIFO name and URL disagree (kombu _validate_predifined_queues)', () => {
    expect(() => resolveSqsSettings('sqs://', { predefinedQueues: { celery: { url: 'https://sqs.eu-west-1.amazonaws.com/1/celery.fifo' } } })).toThrow(/is a FIFO queue: its name "celery" must end with .fifo/);
    expect(() => resolveSqsSettings('sqs://', { predefinedQueues: { 'jobs.fifo': { url: 'https://sqs.eu-west-1.amazonaws.com/1/jobs' } } })).toThrow(/named as a FIFO queue but/);
  });

  it('never shows the secret, even with an unencoded "/" in it', () => {
    expect(maskUrl('sqs://AKIAEXAMPLE:abc/def+ghi@')).toBe('sqs://AKIAEXAMPLE:***@');
    expect(maskUrl('sqs://AKIAEXAMPLE:abc/def@localhost:9324')).toBe('sqs://AKIAEXAMPLE:***@localhost:9324');
    let message = '';
    try {
      resolveSqsSettings('sqs://AKIAEXAMPLE:abc/def@?wait_time_seconds=99');
    } catch (error) {
      message = (error as Error).message;
    }
    expect(message).toContain('sqs://AKIAEXAMPLE:***@');
    expect(message).not.toContain('abc/def');
  });
});
