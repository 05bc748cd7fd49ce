import { createHash, randomUUID } from 'node:crypto';

/** A message as the server holds it. */
interface StoredMessage {
  id: string;
  body: string;
  md5OfBody: string;
  sentAt: number;
  /** Not receivable before this time (DelaySeconds, or in flight until its visibility timeout ends). */
  visibleAt: number;
  receiveCount: number;
  firstReceivedAt?: number;
  /** The receipt handle of the latest receive; older handles are stale, as in SQS. */
  receiptHandle?: string;
  groupId?: string;
  deduplicationId?: string;
}

export interface ReceivedMessage {
  MessageId: string;
  ReceiptHandle: string;
  MD5OfBody: string;
  Body: string;
  Attributes: Record<string, string>;
}

export class LocalSqsError extends Error {
  constructor(readonly code: string, message: string, readonly status = 400) {
    super(message);
  }
}

/** How long FIFO queues remember a deduplication id (SQS: five minutes). */
const DEDUPLICATION_WINDOW_MS = 5 * 60_000;

/**
 * One queue with SQS's delivery rules: a received message is invisible for the visibility
 * timeout and comes back if not deleted; DelaySeconds postpones its first delivery; a FIFO queue
 * delivers a message group in order, one batch in flight per group, and drops a message whose
 * deduplication id was seen within five minutes.
 */
export class LocalSqsQueue {
  private readonly messages: StoredMessage[] = [];
  private readonly seenDeduplicationIds = new Map<string, number>();
  private readonly waiters = new Set<() => void>();

  constructor(
    readonly name: string,
    readonly url: string,
    readonly attributes: Record<string, string>,
  ) {}

  get fifo(): boolean {
    return this.attributes.FifoQueue === 'true';
  }

  private get visibilityTimeoutMs(): number {
    return Number(this.attributes.VisibilityTimeout ?? '30') * 1000;
  }

  send(body: string, options: { delaySeconds?: number; groupId?: string; deduplicationId?: string }): { MessageId: string; MD5OfMessageBody: string } {
    if (this.fifo && !options.groupId) throw new LocalSqsError('MissingParameter', 'The request must contain the parameter MessageGroupId.');
    const now = Date.now();
    const md5OfBody = createHash('md5').update(body, 'utf8').digest('hex');
    const deduplicationId = options.deduplicationId ?? (this.fifo && this.attributes.ContentBasedDeduplication === 'true' ? createHash('sha256').update(body).digest('hex') : undefined);
    if (this.fifo && !deduplicationId) {
      throw new LocalSqsError('InvalidParameterValue', 'The queue should either have ContentBasedDeduplication enabled or MessageDeduplicationId provided explicitly');
    }
    if (this.fifo && deduplicationId) {
      const seen = this.seenDeduplicationIds.get(deduplicationId);
      if (seen !== undefined && now - seen < DEDUPLICATION_WINDOW_MS) return { MessageId: randomUUID(), MD5OfMessageBody: md5OfBody };
      this.seenDeduplicationIds.set(deduplicationId, now);
    }
    const delaySeconds = options.delaySeconds ?? Number(this.attributes.DelaySeconds ?? '0');
    if (delaySeconds < 0 || delaySeconds > 900) throw new LocalSqsError('InvalidParameterValue', `Value ${delaySeconds} for parameter DelaySeconds is invalid. Reason: must be between 0 and 900.`);
    const message: StoredMessage = { id: randomUUID(), body, md5OfBody, sentAt: now, visibleAt: now + delaySeconds * 1000, receiveCount: 0, groupId: options.groupId, deduplicationId };
    this.messages.push(message);
    this.wake();
    return { MessageId: message.id, MD5OfMessageBody: md5OfBody };
  }

  /** Up to `max` visible messages; with `waitSeconds`, waits for one (long polling). */
  async receive(max: number, waitSeconds: number, visibilityTimeoutSeconds: number | undefined, closed: () => boolean): Promise<ReceivedMessage[]> {
    const deadline = Date.now() + waitSeconds * 1000;
    for (;;) {
      const taken = this.take(max, visibilityTimeoutSeconds);
      if (taken.length > 0 || Date.now() >= deadline || closed()) return taken;
      await this.waitForChange(deadline);
    }
  }

  delete(receiptHandle: string): void {
    const index = this.messages.findIndex((message) => message.receiptHandle === receiptHandle);
    if (index >= 0) this.messages.splice(index, 1);
    this.wake(); // a FIFO group may be free again
  }

  changeVisibility(receiptHandle: string, seconds: number): void {
    const message = this.messages.find((candidate) => candidate.receiptHandle === receiptHandle);
    if (!message || message.visibleAt <= Date.now()) {
      throw new LocalSqsError('MessageNotInflight', `Value ${receiptHandle} for parameter ReceiptHandle is invalid. Reason: Message does not exist or is not available for visibility timeout change.`);
    }
    message.visibleAt = Date.now() + seconds * 1000;
    this.wake();
  }

  purge(): void {
    this.messages.length = 0;
  }

  counts(): { visible: number; inFlight: number; delayed: number } {
    const now = Date.now();
    let visible = 0;
    let inFlight = 0;
    let delayed = 0;
    for (const message of this.messages) {
      if (message.visibleAt <= now) visible++;
      else if (message.receiveCount > 0) inFlight++;
      else delayed++;
    }
    return { visible, inFlight, delayed };
  }

  /** What the queue holds, for assertions: each message's body, group and deduplication id. */
  snapshot(): { body: string; groupId?: string; deduplicationId?: string; receiveCount: number }[] {
    return this.messages.map(({ body, groupId, deduplicationId, receiveCount }) => ({ body, groupId, deduplicationId, receiveCount }));
  }

  /** Ends every long poll now (the server is closing). */
  wakeAll(): void {
    this.wake();
  }

  private take(max: number, visibilityTimeoutSeconds: number | undefined): ReceivedMessage[] {
    const now = Date.now();
    const visibilityMs = visibilityTimeoutSeconds === undefined ? this.visibilityTimeoutMs : visibilityTimeoutSeconds * 1000;
    const busyGroups = new Set<string>();
    if (this.fifo) for (const message of this.messages) if (message.receiveCount > 0 && message.visibleAt > now && message.groupId) busyGroups.add(message.groupId);
    const taken: ReceivedMessage[] = [];
    let fifoGroup: string | undefined;
    for (const message of this.messages) {
      if (taken.length >= max) break;
      if (this.fifo) {
        const group = message.groupId ?? '';
        if (busyGroups.has(group)) continue;
        if (message.visibleAt > now) {
          busyGroups.add(group); // order within a group: nothing behind a delayed message
          continue;
        }
        if (fifoGroup !== undefined && group !== fifoGroup) continue;
        fifoGroup = group;
      } else if (message.visibleAt > now) continue;
      message.receiveCount++;
      message.firstReceivedAt ??= now;
      message.receiptHandle = `${message.id}#${randomUUID()}`;
      message.visibleAt = now + visibilityMs;
      taken.push({
        MessageId: message.id,
        ReceiptHandle: message.receiptHandle,
        MD5OfBody: message.md5OfBody,
        Body: message.body,
        Attributes: {
          ApproximateReceiveCount: String(message.receiveCount),
          SentTimestamp: String(message.sentAt),
          ApproximateFirstReceiveTimestamp: String(message.firstReceivedAt),
          ...(message.groupId !== undefined ? { MessageGroupId: message.groupId } : {}),
          ...(message.deduplicationId !== undefined ? { MessageDeduplicationId: message.deduplicationId } : {}),
        },
      });
    }
    return taken;
  }

  /** Resolves on a send, delete or visibility change, when the next invisible message turns visible, or at the deadline. */
  private waitForChange(deadline: number): Promise<void> {
    const now = Date.now();
    const nextVisible = this.messages.reduce((soonest, message) => (message.visibleAt > now ? Math.min(soonest, message.visibleAt) : soonest), Infinity);
    const until = Math.max(0, Math.min(deadline, nextVisible) - now);
    return new Promise((resolve) => {
      const done = () => {
        clearTimeout(timer);
        this.waiters.delete(done);
        resolve();
      };
      const timer = setTimeout(done, until);
      this.waiters.add(done);
    });
  }

  private wake(): void {
    for (const waiter of [...this.waiters]) waiter();
  }
}
