import type { ChannelModel } from 'amqplib';
import type { Writable } from 'node:stream';

/** The part of amqplib's connection internals this reaches into (amqplib 0.10 – 2.x). */
interface AmqplibInternals {
  connection?: { stream?: Writable; muxer?: { _readIncoming?: () => void } };
}

/**
 * amqplib's frame multiplexer writes every frame (each publish, each ack) to the socket with a
 * write of its own: with Nagle off (we need it off for latency) that is one syscall and one TCP
 * segment per frame. Corking the socket around one pass of the multiplexer turns the frames it
 * has ready into a single writev, without delaying any. kombu (py-amqp) writes frame by frame
 * too; there is no Celery setting for this. Returns false, changing nothing, when amqplib's
 * internals are not the expected ones (a future version): only the speed-up is lost.
 */
export function coalesceSocketWrites(model: ChannelModel): boolean {
  const connection = (model as unknown as AmqplibInternals).connection;
  const stream = connection?.stream;
  const muxer = connection?.muxer;
  const readIncoming = muxer?._readIncoming;
  if (!stream || typeof stream.cork !== 'function' || typeof readIncoming !== 'function') return false;
  muxer!._readIncoming = function corked(this: unknown) {
    stream.cork();
    try {
      readIncoming.call(this);
    } finally {
      stream.uncork();
    }
  };
  return true;
}
