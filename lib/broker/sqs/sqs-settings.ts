import { InvalidSqsUrlError } from '../../errors/invalid-sqs-url.error';
import { maskUrl } from '../../utils/mask-secrets';
import { SQS_DEFAULTS, type SqsPredefinedQueue, type SqsTransportOptions } from './sqs-transport-options';

/** Everything the SQS broker needs, read from the URL and the options once, at start-up. */
export interface SqsSettings {
  /** The URL with the secret masked, for logs. */
  description: string;
  /** Undefined: AWS_REGION or AWS_DEFAULT_REGION, else `us-east-1` (sqs-api.ts). */
  region?: string;
  /** From the URL's user and password; undefined: the standard AWS credential chain. */
  credentials?: { accessKeyId: string; secretAccessKey: string };
  endpoint?: string;
  queueNamePrefix: string;
  visibilityTimeoutSeconds: number;
  waitTimeSeconds: number;
  pollingIntervalMs: number;
  predefinedQueues: Record<string, SqsPredefinedQueue>;
  creationAttributes: Record<string, string>;
}

/**
 * Reads `sqs://[access key id:secret access key@][host[:port]][?transport options]` as kombu does
 * (`sqs://` alone: credentials from the AWS chain; a host: an SQS-compatible endpoint, https when
 * `is_secure=true`), then the options object, which wins. Throws InvalidSqsUrlError.
 */
export function resolveSqsSettings(url: string, options: SqsTransportOptions = {}, visibilityTimeoutSeconds?: number): SqsSettings {
  const description = maskUrl(url);
  const fail = (problem: string): never => {
    throw new InvalidSqsUrlError(description, problem);
  };
  const match = /^sqs:\/\/(?:([^:@]*):(.*)@)?([^/?#]*)\/?(?:\?(.*))?$/i.exec(url.trim());
  if (!match) return fail('it is not of the form sqs://[key:secret@][host[:port]][?options] (a "/" or "@" in the secret must be percent-encoded)');
  const [, user, password, hostPort, queryText] = match;
  const query = new URLSearchParams(queryText ?? '');
  let credentials: SqsSettings['credentials'];
  if (user !== undefined && (user !== '' || password !== '')) {
    if (user === '' || password === '') fail('give both the access key id and the secret access key, or neither (to use the AWS credential chain)');
    credentials = { accessKeyId: safeDecode(user, fail), secretAccessKey: safeDecode(password!, fail) };
  }
  const secure = (query.get('is_secure') ?? 'false').toLowerCase() === 'true';
  const endpoint = options.endpoint ?? (hostPort ? `${secure ? 'https' : 'http'}://${hostPort}` : undefined);
  if (endpoint !== undefined && !/^https?:\/\/[^/]+/i.test(endpoint)) fail(`the endpoint "${endpoint}" is not an http:// or https:// address`);
  const visibility = visibilityTimeoutSeconds ?? numberFrom(query, 'visibility_timeout', fail) ?? SQS_DEFAULTS.visibilityTimeoutSeconds;
  if (!Number.isInteger(visibility) || visibility < 0 || visibility > 43_200) fail(`the visibility timeout ${visibility} is not a whole number of seconds from 0 to 43200 (12 hours, SQS's limit)`);
  const wait = options.waitTimeSeconds ?? numberFrom(query, 'wait_time_seconds', fail) ?? SQS_DEFAULTS.waitTimeSeconds;
  if (!Number.isInteger(wait) || wait < 0 || wait > 20) fail(`wait_time_seconds ${wait} is not a whole number of seconds from 0 to 20 (SQS's long-polling limit)`);
  const polling = options.pollingInterval ?? numberFrom(query, 'polling_interval', fail) ?? SQS_DEFAULTS.pollingIntervalSeconds;
  if (!(polling >= 0)) fail(`polling_interval ${polling} is not a number of seconds ≥ 0`);
  const region = options.region ?? query.get('region') ?? undefined;
  if (region !== undefined && !/^[a-z0-9-]+$/.test(region)) fail(`the region "${region}" is not an AWS region name such as eu-west-1`);
  const predefinedQueues = options.predefinedQueues ?? {};
  for (const [name, queue] of Object.entries(predefinedQueues)) checkPredefinedQueue(name, queue, fail);
  return {
    description,
    region,
    credentials,
    endpoint,
    queueNamePrefix: options.queueNamePrefix ?? query.get('queue_name_prefix') ?? '',
    visibilityTimeoutSeconds: visibility,
    waitTimeSeconds: wait,
    pollingIntervalMs: polling * 1000,
    predefinedQueues,
    creationAttributes: options.creationAttributes ?? {},
  };
}

/** kombu's `_validate_predifined_queues`: a FIFO queue's name and URL both end in `.fifo`. */
function checkPredefinedQueue(name: string, queue: SqsPredefinedQueue, fail: (problem: string) => never): void {
  if (typeof queue?.url !== 'string' || !/^https?:\/\//.test(queue.url)) fail(`predefinedQueues["${name}"] needs the queue's url (https://sqs.<region>.amazonaws.com/<account>/<name>)`);
  const fifoUrl = queue.url.endsWith('.fifo');
  if (fifoUrl !== name.endsWith('.fifo')) {
    fail(fifoUrl ? `the queue at ${queue.url} is a FIFO queue: its name "${name}" must end with .fifo` : `the queue "${name}" is named as a FIFO queue but ${queue.url} is not one`);
  }
  if ((queue.accessKeyId === undefined) !== (queue.secretAccessKey === undefined)) fail(`predefinedQueues["${name}"] needs both accessKeyId and secretAccessKey, or neither`);
}

function numberFrom(query: URLSearchParams, name: string, fail: (problem: string) => never): number | undefined {
  const text = query.get(name);
  if (text === null) return undefined;
  const value = Number(text);
  if (text.trim() === '' || !Number.isFinite(value)) fail(`${name}=${text} is not a number`);
  return value;
}

function safeDecode(text: string, fail: (problem: string) => never): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return fail('the credentials contain a "%" that is not a valid percent-encoding');
  }
}
