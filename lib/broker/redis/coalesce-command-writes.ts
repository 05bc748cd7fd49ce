import type { Redis } from 'ioredis';
import type { Writable } from 'node:stream';

/**
 * Every command a client issues in one turn of the event loop leaves in one write (a writev):
 * the socket is corked at the turn's first command and uncorked on the next tick. Concurrent
 * tasks' acks, unacked records, results and sends share round trips and syscalls instead of
 * paying one each.
 *
 * This is what ioredis' own `enableAutoPipelining` does, written again because of how that one
 * keeps its pipelines: in a Map entry set and deleted every turn. V8 leaves each outgrown hash table
 * of such a Map pointing to the next (utils/in-flight-set.ts), so after a major GC every later
 * pipeline, with its commands and their payloads, was promoted to the old generation: a loop of
 * 60,000 LPUSHes 100 at a time promoted 84 MiB with auto-pipelining and 5.5 MiB without; our
 * `send()` on Redis spent 38–41% of its CPU in the garbage collector.
 */
export function coalesceCommandWrites(client: Redis): void {
  const sendCommand = client.sendCommand;
  let corked: Writable | null = null;
  const uncork = () => {
    const socket = corked;
    corked = null;
    socket?.uncork();
  };
  client.sendCommand = function coalesced(this: Redis, ...args: Parameters<Redis['sendCommand']>) {
    const socket = (client as unknown as { stream?: Writable }).stream;
    if (corked === null && client.status === 'ready' && socket && typeof socket.cork === 'function') {
      corked = socket;
      socket.cork();
      process.nextTick(uncork);
    }
    return sendCommand.apply(this, args);
  } as Redis['sendCommand'];
}
