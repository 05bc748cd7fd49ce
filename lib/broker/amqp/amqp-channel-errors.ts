import type { Channel } from 'amqplib';

/** An error RabbitMQ raised by closing a channel (it carries the AMQP reply code), as amqplib reports it. */
export interface AmqpChannelError extends Error {
  code: number;
}

/** True for errors that closed a channel on RabbitMQ's initiative (404, 405, 406, …), as opposed to a lost connection. */
export function isChannelError(error: unknown): error is AmqpChannelError {
  return error instanceof Error && typeof (error as Partial<AmqpChannelError>).code === 'number';
}

/** RabbitMQ's own words from an amqplib error: `… with message "PRECONDITION_FAILED - …"` → `PRECONDITION_FAILED - …`. */
export function brokerReplyText(error: Error): string {
  return /with message "(.*)"$/s.exec(error.message)?.[1] ?? error.message;
}

/**
 * Closes a channel and ignores every failure: it may already be closed by the broker or by a lost
 * connection, and amqplib throws synchronously in that case.
 */
export async function closeQuietly(channel: Channel): Promise<void> {
  try {
    await channel.close();
  } catch {
    // Already closed: nothing left to release.
  }
}
