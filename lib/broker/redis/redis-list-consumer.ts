import type { Redis } from 'ioredis';
import type { BrokerLogger } from '../broker-logger';
import type { DeliveredMessage } from '../broker.interface';
import { InFlightSet, type InFlightEntry } from '../../utils/in-flight-set';
import { parseKombuEnvelope, type KombuEnvelope } from '../kombu-envelope';
import { brpopLists, queueOfList } from './kombu-redis-keys';
import { RedisDeliveredMessage } from './redis-delivered-message';
import type { UnackedMessages } from './unacked-messages';

/** BRPOP's timeout: how long a cancel waits at most for the pending read to return. */
const BRPOP_TIMEOUT_SECONDS = 1;
/** Most messages taken in one round trip when the prefetch window is unbounded. */
const MAX_BATCH = 100;
/** kombu restores visible messages every 10 s (`Transport.register_with_event_loop`). */
const MAX_RESTORE_INTERVAL_MS = 10_000;
/** Pause after a failed read, while ioredis reconnects. */
const READ_RETRY_DELAY_MS = 500;

export interface RedisListConsumerOptions {
  queues: string[];
  prefetch: number;
  visibilityTimeoutSeconds: number;
  onMessage(message: DeliveredMessage): void;
}

/**
 * Consumes queues kept as Redis lists, in kombu's order: every priority list of every queue,
 * highest band first (`_brpop_start`); the queue just read moves to the end of the cycle so a busy
 * queue does not starve the others; each message is recorded in the unacked hash before it is
 * handed over (the record command leaves first; see deliverPopped); no read while `prefetch`
 * messages are unsettled. Every consumer also restores
 * messages left unacked beyond the visibility timeout (by a worker that died), as kombu's do.
 * Queues join and leave the cycle while it runs (kombu's `basic_consume` / `basic_cancel`).
 *
 * Where kombu pops one message per BRPOP, this takes as many as the prefetch window has room for
 * in one round trip (UnackedMessages.takeBatch, popped and recorded atomically), and blocks on
 * BRPOP, on a connection of its own, only when nothing is ready: the same lists, the same order,
 * the same records, a fraction of the round trips.
 */
export class RedisListConsumer {
  private readonly cycle: string[];
  /**
   * Tags of the messages handed over and not settled. An InFlightSet, and each message's own
   * state on its Delivery rather than in Maps by tag: one entry per message added and deleted
   * would chain V8's obsolete hash tables, and every message they held, into old space
   * (lib/utils/in-flight-set.ts; docs/PERFORMANCE.md, "Memory").
   */
  private readonly unsettled = new InFlightSet<string>();
  private prefetch: number;
  private cancelled = false;
  /** Set while the loop waits for a free slot or, consuming no queue, for one to be added. */
  private slotWaiter: (() => void) | null = null;
  private readonly loop: Promise<void>;
  /** Work close must wait for (see track); an InFlightSet for the same reason as `unsettled`. */
  private readonly pending = new InFlightSet<Promise<void>>();
  private readonly restoreTimer: NodeJS.Timeout;

  constructor(
    private readonly reader: Redis,
    private readonly client: Redis,
    private readonly unacked: UnackedMessages,
    private readonly options: RedisListConsumerOptions,
    private readonly logger: BrokerLogger,
  ) {
    this.cycle = [...options.queues];
    this.prefetch = options.prefetch;
    const intervalMs = Math.min(MAX_RESTORE_INTERVAL_MS, options.visibilityTimeoutSeconds * 1000);
    this.restoreTimer = setInterval(() => void this.restoreVisible(), intervalMs);
    this.restoreTimer.unref();
    void this.restoreVisible();
    this.loop = this.run();
  }

  /** Tags of the messages delivered and not yet settled (given back on close, as kombu's `restore_at_shutdown`). */
  get unsettledTags(): string[] {
    return this.unsettled.values();
  }

  async cancel(): Promise<void> {
    this.cancelled = true;
    clearInterval(this.restoreTimer);
    this.releaseSlot();
    await this.loop;
    await Promise.all(this.pending.values());
  }

  async setPrefetch(count: number): Promise<void> {
    this.prefetch = count;
    this.releaseSlot();
  }

  /** Puts the queue in the cycle, last (a BRPOP already waiting still reads the old keys, up to BRPOP_TIMEOUT_SECONDS). */
  addQueue(queue: string): void {
    if (this.cycle.includes(queue)) return;
    this.cycle.push(queue);
    this.releaseSlot();
  }

  /** Takes the queue out of the cycle; what a BRPOP already waiting still reads from it is put back (see deliverPopped). */
  cancelQueue(queue: string): void {
    const index = this.cycle.indexOf(queue);
    if (index >= 0) this.cycle.splice(index, 1);
  }

  private async run(): Promise<void> {
    while (!this.cancelled) {
      const full = this.prefetch > 0 && this.unsettled.size >= this.prefetch;
      if (full || this.cycle.length === 0) {
        await new Promise<void>((resolve) => (this.slotWaiter = resolve));
        continue;
      }
      const room = this.prefetch > 0 ? this.prefetch - this.unsettled.size : MAX_BATCH;
      let taken: [string, string][];
      try {
        taken = await this.takeReady(Math.min(room, MAX_BATCH));
      } catch (error) {
        if (this.cancelled) break;
        this.logger.warn(`Reading queues ${this.cycle.join(', ')} from Redis failed (${(error as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS));
        continue;
      }
      if (taken.length > 0) {
        for (const [list, raw] of taken) this.deliverRecorded(list, raw);
        continue;
      }
      let popped: [string, string] | null;
      try {
        popped = await this.reader.brpop(brpopLists(this.cycle), BRPOP_TIMEOUT_SECONDS);
      } catch (error) {
        if (this.cancelled) break;
        this.logger.warn(`Reading queues ${this.cycle.join(', ')} from Redis failed (${(error as Error).message}); retrying`);
        await new Promise((resolve) => setTimeout(resolve, READ_RETRY_DELAY_MS));
        continue;
      }
      if (popped) this.deliverPopped(popped[0], popped[1]);
    }
  }

  /** Keeps `work` from being cut short by close: cancel() waits for it. */
  private track(work: Promise<unknown>): void {
    const entry = this.pending.add(
      work.then(
        () => undefined,
        () => undefined,
      ),
    );
    void entry.value.finally(() => this.pending.delete(entry));
  }

  /** Messages ready now, popped and recorded as unacked in one round trip (empty when none is). */
  private takeReady(max: number): Promise<[string, string][]> {
    const lists = brpopLists(this.cycle);
    return this.unacked.takeBatch(lists, lists.map(queueOfList), max);
  }

  /** A message takeReady() popped and recorded: handed over as deliverPopped() hands a BRPOP'd one. */
  private deliverRecorded(list: string, raw: string): void {
    const queue = queueOfList(list);
    if (this.cancelled || !this.cycle.includes(queue)) {
      // Taken while cancelling: back where it came from, its record dropped, as deliverPopped() does.
      const tag = tagOf(raw);
      void this.client
        .rpush(list, raw)
        .then(() => (tag ? this.unacked.ack(tag) : undefined))
        .catch((error: Error) => this.logger.error(`Lost a message of "${list}" read while cancelling: ${error.message}`));
      return;
    }
    this.rotate(queue);
    const delivery: Delivery = {};
    let message: RedisDeliveredMessage;
    try {
      message = this.deliveredMessage(parseKombuEnvelope(raw), queue, delivery);
    } catch (error) {
      this.logger.error(`Dropped an unreadable entry of Redis list "${list}": ${(error as Error).message}`);
      return;
    }
    this.hand(message, queue, delivery);
  }

  /** The message as handed over: settling it comes back to settle() with its delivery. */
  private deliveredMessage(envelope: KombuEnvelope, queue: string, delivery: Delivery): RedisDeliveredMessage {
    return new RedisDeliveredMessage(envelope, queue, { ack: (tag) => this.settle(tag, delivery, false), reject: (tag, requeue) => this.settle(tag, delivery, requeue) });
  }

  private hand(message: RedisDeliveredMessage, queue: string, delivery: Delivery): void {
    delivery.unsettled = this.unsettled.add(message.tag);
    try {
      this.options.onMessage(message);
    } catch (error) {
      this.logger.error(`The message handler of queue "${queue}" threw: ${(error as Error).message}`);
    }
  }

  /**
   * A message BRPOP popped: recorded as unacked and handed over at once, without waiting for the
   * record's reply (one round trip less between a message and its task). The record, the ack and
   * any restore of the message go out on the same connection in that order, so none can overtake
   * it; settling still waits for the record's answer, so a reject never looks for a record that
   * failed. If the record fails (Redis refused it: out of memory, connection closed), the message
   * is not protected by the visibility timeout, so it goes back to the head of its list as before;
   * as it is already running, it may then run twice (at least once, never lost). A message settled
   * before the failure is known is not put back when acked (its task has run, or was acked early
   * by choice), and is put back when rejected with requeue.
   */
  private deliverPopped(list: string, raw: string): void {
    const queue = queueOfList(list);
    if (this.cancelled || !this.cycle.includes(queue)) {
      // Read after cancel (of all, or of this queue): put it back where it was read from, at the head,
      // as kombu gives back a message no consumer wants any more (`_reject_inbound_message`).
      this.track(this.client.rpush(list, raw).catch((error: Error) => this.logger.error(`Lost a message of "${list}" read while cancelling: ${error.message}`)));
      return;
    }
    this.rotate(queue);
    const delivery: Delivery = {};
    let message: RedisDeliveredMessage;
    let exchange: string;
    let routingKey: string;
    try {
      const envelope = parseKombuEnvelope(raw);
      message = this.deliveredMessage(envelope, queue, delivery);
      exchange = envelope.properties.delivery_info?.exchange ?? '';
      routingKey = envelope.properties.delivery_info?.routing_key ?? queue;
    } catch (error) {
      this.logger.error(`Dropped an unreadable entry of Redis list "${list}": ${(error as Error).message}`);
      return;
    }
    const tag = message.tag;
    const outcome = this.unacked.record(tag, raw, exchange, routingKey).then(
      (): RecordOutcome => 'recorded',
      (error: Error): Promise<RecordOutcome> => this.recordFailed(message, list, raw, error),
    );
    delivery.recording = { outcome, list, raw };
    void outcome.then(() => (delivery.recording = undefined));
    this.track(outcome);
    this.hand(message, queue, delivery);
  }

  private async recordFailed(message: RedisDeliveredMessage, list: string, raw: string, error: Error): Promise<RecordOutcome> {
    if (message.isSettled) {
      this.logger.warn(`Could not record message ${message.tag} as unacked (${error.message}); it was already settled`);
      return 'unrecorded';
    }
    // Not recorded, so nothing would restore it if this worker died: give it back at the head of its list.
    this.logger.warn(`Could not record message ${message.tag} as unacked (${error.message}); putting it back in "${list}" (it is running already, so it may run twice)`);
    await this.client.rpush(list, raw).catch((pushError: Error) => this.logger.error(`Lost message ${message.tag} of "${list}" if this worker stops before it is done: ${pushError.message}`));
    return 'pushedBack';
  }

  private settle(tag: string, delivery: Delivery, requeue: boolean): void {
    const recording = delivery.recording;
    const done = recording
      ? recording.outcome.then((outcome) => {
          if (outcome === 'recorded') return this.settleRecorded(tag, requeue);
          // Never recorded: nothing to remove; a requeue puts back the message itself, unless that was done already.
          if (outcome === 'unrecorded' && requeue) return this.client.rpush(recording.list, recording.raw).then(() => undefined);
          return undefined;
        })
      : this.settleRecorded(tag, requeue);
    this.track(done.catch((error: Error) => this.logger.warn(`Could not ${requeue ? 'requeue' : 'ack'} message ${tag} in Redis: ${error.message}; it returns after the visibility timeout`)));
    // Its prefetch slot is free once the ack is on its way, as kombu counts it (QoS.can_consume
    // leaves out the tags acked but not yet flushed): the next take does not wait for HDEL's
    // reply. Measured: 17.5–18.5k → 20.7–21.3k tasks/s draining with results in Redis, 4 of 4
    // alternating pairs. Should the ack fail, the unacked record brings the message back after the
    // visibility timeout, as before; close() still waits for it (track).
    if (delivery.unsettled) this.unsettled.delete(delivery.unsettled);
    this.releaseSlot();
  }

  private settleRecorded(tag: string, requeue: boolean): Promise<void> {
    return requeue ? this.unacked.restore(tag, true).then(() => this.unacked.ack(tag)) : this.unacked.ack(tag);
  }

  /** kombu `_queue_cycle.rotate`: the queue just read goes last. */
  private rotate(queue: string): void {
    const index = this.cycle.indexOf(queue);
    if (index < 0 || this.cycle.length < 2) return;
    this.cycle.splice(index, 1);
    this.cycle.push(queue);
  }

  private releaseSlot(): void {
    const waiter = this.slotWaiter;
    this.slotWaiter = null;
    waiter?.();
  }

  private async restoreVisible(): Promise<void> {
    try {
      const restored = await this.unacked.restoreVisible(this.options.visibilityTimeoutSeconds);
      if (restored > 0) this.logger.warn(`Restored ${restored} message(s) unacked for more than ${this.options.visibilityTimeoutSeconds} s to their queues`);
    } catch (error) {
      if (!this.cancelled) this.logger.warn(`Could not restore unacked messages: ${(error as Error).message}`);
    }
  }
}

/** What became of a handed-over message's unacked record. */
type RecordOutcome = 'recorded' | 'unrecorded' | 'pushedBack';

/** A message handed over, as its settling needs it: found through the message, not by tag (see `unsettled`). */
interface Delivery {
  /** Its place among the unsettled, from the moment it is handed over. */
  unsettled?: InFlightEntry<string>;
  /** Its unacked record while Redis has not answered it (a BRPOP'd message only): settling waits for it. */
  recording?: PendingRecord;
}

/** A record on its way, with what a requeue of the unrecorded message needs. */
interface PendingRecord {
  outcome: Promise<RecordOutcome>;
  list: string;
  raw: string;
}

/** The delivery tag of a raw envelope, or null when it has none readable. */
function tagOf(raw: string): string | null {
  try {
    const tag = (JSON.parse(raw) as { properties?: { delivery_tag?: unknown } }).properties?.delivery_tag;
    return typeof tag === 'string' ? tag : null;
  } catch {
    return null;
  }
}
