import type { SqsConsumer, SqsConsumerHost } from './sqs-consumer';
import { SqsDeliveredMessage } from './sqs-delivered-message';
import { decodeSqsBody } from './sqs-message-body';
import type { SqsQueue } from './sqs-queue-directory';

/** Pause after a failed receive, doubling up to the maximum while SQS stays unreachable. */
const RETRY_DELAY_MS = 500;
const MAX_RETRY_DELAY_MS = 10_000;

/**
 * The receive loop of one queue (kombu's `_get_bulk` / `_get_bulk_async`): ReceiveMessage with
 * as many messages as the window allows and `wait_time_seconds` of long polling, each message
 * handed to the consumer; after a receive that found nothing, `polling_interval` of rest.
 */
export class SqsQueuePoller {
  private stopped = false;
  private readonly abort = new AbortController();
  private readonly loop: Promise<void>;
  private wakeFromRest: (() => void) | null = null;

  constructor(
    private readonly queue: SqsQueue,
    private readonly host: SqsConsumerHost,
    private readonly consumer: SqsConsumer,
  ) {
    this.loop = this.run();
  }

  /** Ends the loop; a receive in flight is abandoned (its messages come back after the visibility timeout). */
  async stop(): Promise<void> {
    this.stopped = true;
    this.abort.abort();
    this.wakeFromRest?.();
    await this.loop;
  }

  private async run(): Promise<void> {
    let retryDelay = RETRY_DELAY_MS;
    while (!this.stopped) {
      const slots = await this.consumer.reserve(() => this.stopped);
      if (slots === 0) break;
      let received;
      try {
        received = await this.host.api.receive(this.queue.url, slots, this.host.waitTimeSeconds, this.abort.signal);
        this.host.reportHealth();
        retryDelay = RETRY_DELAY_MS;
      } catch (error) {
        this.consumer.release(slots);
        if (this.stopped) break;
        this.host.reportHealth(error);
        this.host.logger.warn(`Receiving from SQS queue "${this.queue.sqsName}" failed: ${(error as Error).message}; retrying in ${retryDelay} ms`);
        await this.rest(retryDelay);
        retryDelay = Math.min(retryDelay * 2, MAX_RETRY_DELAY_MS);
        continue;
      }
      this.consumer.release(slots - received.length);
      for (const message of received) this.hand(message.body, message.receiptHandle, message.receiveCount);
      if (received.length === 0 && this.host.pollingIntervalMs > 0) await this.rest(this.host.pollingIntervalMs);
    }
  }

  private hand(body: string, receiptHandle: string, receiveCount: number): void {
    let envelope;
    try {
      envelope = decodeSqsBody(body);
    } catch (error) {
      // Nobody can read it: left in the queue it would come back forever. kombu raises here.
      this.consumer.release(1);
      this.host.logger.error(
        `Dropped a message from SQS queue "${this.queue.sqsName}" that is not a kombu message (${(error as Error).message}): ` +
          `expected base64 of kombu's JSON envelope, as Celery's SQS transport sends. First bytes: ${JSON.stringify(body.slice(0, 80))}`,
      );
      void this.host.api.delete(this.queue.url, receiptHandle).catch(() => undefined);
      return;
    }
    this.consumer.deliver(new SqsDeliveredMessage(envelope, this.queue, receiptHandle, receiveCount, this.consumer));
  }

  /** Waits `ms`, or less when stop() comes first. */
  private rest(ms: number): Promise<void> {
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.wakeFromRest = null;
        resolve();
      };
      const timer = setTimeout(done, ms);
      this.wakeFromRest = done;
    });
  }
}
