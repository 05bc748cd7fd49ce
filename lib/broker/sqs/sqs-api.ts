import type * as Sqs from '@aws-sdk/client-sqs';
import { loadOptionalPackage } from '../../utils/optional-package';
import type { SqsSettings } from './sqs-settings';
import { SQS_DEFAULTS } from './sqs-transport-options';

/** A message as ReceiveMessage returns it. */
export interface SqsMessage {
  body: string;
  receiptHandle: string;
  receiveCount: number;
}

export interface SqsSendOptions {
  messageGroupId?: string;
  deduplicationId?: string;
  delaySeconds?: number;
}

/**
 * The SQS calls the broker makes, through the AWS SDK for JavaScript v3 (an optional peer, loaded
 * here when an sqs:// broker is created). The SDK signs, retries throttling and network errors,
 * and speaks whichever protocol its version speaks (AWS JSON 1.0 since 3.446); nothing else in
 * lib/broker/sqs knows it. A predefined queue with credentials or a region of its own gets a
 * client of its own, as in kombu.
 */
export class SqsApi {
  private readonly sdk: typeof Sqs;
  private readonly defaultClient: Sqs.SQSClient;
  private readonly queueClients = new Map<string, Sqs.SQSClient>();

  constructor(private readonly settings: SqsSettings) {
    this.sdk = loadOptionalPackage<typeof Sqs>('@aws-sdk/client-sqs', 'The SQS broker (broker: sqs://…)');
    this.defaultClient = this.newClient(settings.region, settings.credentials);
    for (const [name, queue] of Object.entries(settings.predefinedQueues)) {
      if (queue.accessKeyId === undefined && queue.region === undefined) continue;
      const credentials = queue.accessKeyId !== undefined ? { accessKeyId: queue.accessKeyId, secretAccessKey: queue.secretAccessKey! } : settings.credentials;
      this.queueClients.set(queue.url, this.newClient(queue.region ?? settings.region, credentials));
    }
  }

  async getQueueUrl(name: string, signal?: AbortSignal): Promise<string | null> {
    try {
      const { QueueUrl } = await this.defaultClient.send(new this.sdk.GetQueueUrlCommand({ QueueName: name }), { abortSignal: signal });
      return QueueUrl ?? null;
    } catch (error) {
      if (this.isQueueMissing(error)) return null;
      throw error;
    }
  }

  async createQueue(name: string, attributes: Record<string, string>): Promise<string> {
    const { QueueUrl } = await this.defaultClient.send(new this.sdk.CreateQueueCommand({ QueueName: name, Attributes: attributes }));
    if (!QueueUrl) throw new Error(`SQS created queue "${name}" but returned no URL`);
    return QueueUrl;
  }

  /** One page of queue URLs whose name starts with `prefix`: a cheap call that proves the endpoint and credentials work. */
  async listQueues(prefix: string, signal?: AbortSignal): Promise<string[]> {
    const { QueueUrls } = await this.defaultClient.send(new this.sdk.ListQueuesCommand({ QueueNamePrefix: prefix, MaxResults: 1 }), { abortSignal: signal });
    return QueueUrls ?? [];
  }

  async send(queueUrl: string, body: string, options: SqsSendOptions, signal?: AbortSignal): Promise<void> {
    await this.client(queueUrl).send(
      new this.sdk.SendMessageCommand({
        QueueUrl: queueUrl,
        MessageBody: body,
        MessageGroupId: options.messageGroupId,
        MessageDeduplicationId: options.deduplicationId,
        DelaySeconds: options.delaySeconds,
      }),
      { abortSignal: signal },
    );
  }

  /** Up to `max` (≤ 10) messages, waiting up to `waitSeconds` for the first (long polling). */
  async receive(queueUrl: string, max: number, waitSeconds: number, signal: AbortSignal): Promise<SqsMessage[]> {
    const { Messages } = await this.client(queueUrl).send(
      new this.sdk.ReceiveMessageCommand({
        QueueUrl: queueUrl,
        MaxNumberOfMessages: max,
        WaitTimeSeconds: waitSeconds,
        MessageSystemAttributeNames: ['ApproximateReceiveCount'],
        // The same under its older name, for SDK versions before MessageSystemAttributeNames (< 3.6xx).
        AttributeNames: ['ApproximateReceiveCount' as Sqs.QueueAttributeName], // typed as queue attributes since, but still read as message ones
      }),
      { abortSignal: signal },
    );
    return (Messages ?? []).map((message) => ({
      body: message.Body ?? '',
      receiptHandle: message.ReceiptHandle ?? '',
      receiveCount: Number(message.Attributes?.ApproximateReceiveCount ?? '1'),
    }));
  }

  async delete(queueUrl: string, receiptHandle: string): Promise<void> {
    await this.client(queueUrl).send(new this.sdk.DeleteMessageCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle }));
  }

  async changeVisibility(queueUrl: string, receiptHandle: string, seconds: number): Promise<void> {
    await this.client(queueUrl).send(new this.sdk.ChangeMessageVisibilityCommand({ QueueUrl: queueUrl, ReceiptHandle: receiptHandle, VisibilityTimeout: seconds }));
  }

  /** ApproximateNumberOfMessages (kombu `_size`): ready messages, not those in flight. */
  async approximateDepth(queueUrl: string): Promise<number> {
    const { Attributes } = await this.client(queueUrl).send(new this.sdk.GetQueueAttributesCommand({ QueueUrl: queueUrl, AttributeNames: ['ApproximateNumberOfMessages'] }));
    return Number(Attributes?.ApproximateNumberOfMessages ?? '0');
  }

  isQueueMissing(error: unknown): boolean {
    const name = (error as { name?: string } | null)?.name ?? '';
    return name === 'QueueDoesNotExist' || name === 'AWS.SimpleQueueService.NonExistentQueue';
  }

  close(): void {
    this.defaultClient.destroy();
    for (const client of this.queueClients.values()) client.destroy();
  }

  private client(queueUrl: string): Sqs.SQSClient {
    return this.queueClients.get(queueUrl) ?? this.defaultClient;
  }

  private newClient(region: string | undefined, credentials: SqsSettings['credentials']): Sqs.SQSClient {
    return new this.sdk.SQSClient({
      // Without a region anywhere the SDK refuses to start; kombu falls back to us-east-1.
      region: region ?? (async () => process.env.AWS_REGION ?? process.env.AWS_DEFAULT_REGION ?? SQS_DEFAULTS.region),
      ...(credentials ? { credentials } : {}),
      ...(this.settings.endpoint ? { endpoint: this.settings.endpoint } : {}),
    });
  }
}
