import { CeleryError } from './celery.error';

/**
 * A quorum queue cannot be added to a running RabbitMQ consumer whose prefetch window is shared
 * by its channel (global QoS, which it uses when all its queues are classic): RabbitMQ refuses a
 * quorum-queue consumer on such a channel and closes it. Celery 5.5 decides the QoS mode once,
 * at start (`worker_detect_quorum_queues`), as this worker does.
 */
export class QuorumQueueConsumerError extends CeleryError {
  constructor(readonly queue: string) {
    super(
      `Cannot start consuming quorum queue "${queue}" while running: this consumer's other queues are classic, so its ` +
        `prefetch window is shared by the channel (global QoS), and RabbitMQ refuses a quorum-queue consumer on such a channel. ` +
        `Expected a classic queue here; to consume "${queue}", add it to worker.queues and restart the worker ` +
        `(with a quorum queue among its queues at start, the prefetch is set per consumer).`,
    );
  }
}
