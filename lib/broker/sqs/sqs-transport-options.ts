import { optionKeys } from '../../utils/option-keys';

/** A queue that exists already, given by URL (Celery `predefined_queues` entry). */
export interface SqsPredefinedQueue {
  /** The queue's URL, `https://sqs.<region>.amazonaws.com/<account>/<name>` (kombu `url`). */
  url: string;
  /** Credentials for this queue only (kombu `access_key_id` / `secret_access_key`); default: the broker's. */
  accessKeyId?: string;
  secretAccessKey?: string;
  /** kombu `region`; default: the broker's. */
  region?: string;
}

/**
 * Celery's `broker_transport_options` for SQS (kombu's SQS transport), in camelCase. Each can also
 * be given in the URL's query in Celery's name (`sqs://?region=eu-west-1&queue_name_prefix=prod-`);
 * these options win over the URL. The visibility timeout is the broker's `visibilityTimeoutSeconds`
 * (or `?visibility_timeout=`), shared with Redis as in Celery.
 */
export interface SqsTransportOptions {
  /** kombu `region`. Default: AWS_REGION or AWS_DEFAULT_REGION, else `us-east-1` as kombu. */
  region?: string;
  /** kombu `queue_name_prefix`: put before every queue name, so `celery` is `<prefix>celery` on SQS. Default ''. */
  queueNamePrefix?: string;
  /** kombu `polling_interval`, seconds: the pause after a receive that found nothing. Default 1. */
  pollingInterval?: number;
  /** kombu `wait_time_seconds`: how long one ReceiveMessage waits for a message (long polling), 0–20. Default 10. */
  waitTimeSeconds?: number;
  /**
   * kombu `predefined_queues`: the queues to use, by Celery queue name, instead of listing and
   * creating them (for IAM policies without sqs:CreateQueue / sqs:ListQueues). A queue not listed
   * here is refused. FIFO queues are those whose name and URL end in `.fifo`.
   */
  predefinedQueues?: Record<string, SqsPredefinedQueue>;
  /**
   * An SQS-compatible server instead of AWS, `http://localhost:9324` (kombu takes it from the
   * URL's host and port, and `is_secure`). The URL's host, when it has one, gives the same.
   */
  endpoint?: string;
  /**
   * kombu `sqs-creation-attributes`: attributes for the queues created by us (KmsMasterKeyId,
   * MessageRetentionPeriod, ReceiveMessageWaitTimeSeconds…), as SQS's CreateQueue takes them.
   */
  creationAttributes?: Record<string, string>;
}

export const SQS_TRANSPORT_OPTION_KEYS = optionKeys<SqsTransportOptions>()(
  'region', 'queueNamePrefix', 'pollingInterval', 'waitTimeSeconds', 'predefinedQueues', 'endpoint', 'creationAttributes',
);

/** kombu's SQS defaults (`Channel.default_*`, `Transport.polling_interval`). */
export const SQS_DEFAULTS = {
  region: 'us-east-1',
  visibilityTimeoutSeconds: 1800,
  waitTimeSeconds: 10,
  pollingIntervalSeconds: 1,
} as const;
