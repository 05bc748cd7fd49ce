import { UnsupportedOnSqsError } from '../../errors/unsupported-on-sqs.error';
import type { SqsApi } from './sqs-api';
import type { SqsSettings } from './sqs-settings';
import { canonicalSqsQueueName, isFifoQueueName } from './sqs-queue-names';

/** A Celery queue as it exists on SQS. */
export interface SqsQueue {
  /** The Celery queue name (`celery`, `emails.high`). */
  name: string;
  /** Its SQS name (`<prefix>celery`, `<prefix>emails-high`). */
  sqsName: string;
  url: string;
  fifo: boolean;
}

/**
 * Where each Celery queue lives on SQS, as kombu's `_new_queue` decides: a predefined queue's URL,
 * else the URL of the queue of that name, else a queue created with kombu's attributes
 * (VisibilityTimeout, FifoQueue for `.fifo` names, then `sqs-creation-attributes`). Remembered
 * for the life of the broker, as kombu's `_queue_cache`.
 */
export class SqsQueueDirectory {
  private readonly known = new Map<string, Promise<SqsQueue>>();

  constructor(
    private readonly api: SqsApi,
    private readonly settings: SqsSettings,
  ) {}

  /** The queue, created when it does not exist (kombu declares queues this way). */
  resolve(name: string): Promise<SqsQueue> {
    let queue = this.known.get(name);
    if (!queue) {
      queue = this.find(name, true).then((found) => found!);
      this.known.set(name, queue);
      queue.catch(() => this.known.delete(name)); // a failure is not remembered: the next call tries again
    }
    return queue;
  }

  /** The queue when it exists; null otherwise. Creates nothing (for depth checks). */
  async lookup(name: string): Promise<SqsQueue | null> {
    const known = this.known.get(name);
    if (known) return known;
    return this.find(name, false);
  }

  private async find(name: string, create: boolean): Promise<SqsQueue | null> {
    const sqsName = canonicalSqsQueueName(this.settings.queueNamePrefix, name);
    const fifo = isFifoQueueName(sqsName);
    const predefined = Object.keys(this.settings.predefinedQueues).length > 0;
    if (predefined) {
      const entry = this.settings.predefinedQueues[sqsName];
      if (!entry) {
        throw new UnsupportedOnSqsError(
          `Queue "${name}" (SQS name "${sqsName}") is not in predefinedQueues, and creating queues`,
          `With predefinedQueues set, every queue used must be listed there (kombu's UndefinedQueueException): add "${sqsName}": { url: … }.`,
        );
      }
      return { name, sqsName, url: entry.url, fifo };
    }
    const url = await this.api.getQueueUrl(sqsName);
    if (url) return { name, sqsName, url, fifo };
    if (!create) return null;
    const attributes: Record<string, string> = { VisibilityTimeout: String(this.settings.visibilityTimeoutSeconds) };
    if (fifo) attributes.FifoQueue = 'true';
    Object.assign(attributes, this.settings.creationAttributes);
    return { name, sqsName, url: await this.api.createQueue(sqsName, attributes), fifo };
  }
}
