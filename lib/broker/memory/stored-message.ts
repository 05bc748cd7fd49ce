import type { MessageProperties } from '../broker.interface';

/** A message sitting in an in-process queue: one object per queue it was routed to. */
export interface StoredMessage {
  readonly exchange: string;
  readonly routingKey: string;
  readonly body: Buffer;
  readonly properties: MessageProperties;
  /** True once it was delivered and given back (reject with requeue, or its consumer went away). */
  redelivered: boolean;
  /** Epoch ms after which it is dropped (or dead-lettered) instead of delivered; undefined: never. */
  readonly expiresAt: number | undefined;
}
