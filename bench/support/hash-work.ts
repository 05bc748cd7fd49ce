import { createHash } from 'node:crypto';

/** One 64 KiB block, the same bytes bench_tasks.py hashes (`bytes(range(256)) * 256`). */
const BLOCK = Buffer.from(Array.from({ length: 64 * 1024 }, (_, index) => index % 256));

/**
 * The CPU-bound task of the process-pool scenario: `rounds` SHA-256 digests of the block chained
 * with the previous digest, OpenSSL doing the work on both sides (bench_tasks.py's bench.hash is
 * the same loop), so the task costs the same in Node.js and Python and the rows compare pools.
 */
export function hashWork(rounds: number): string {
  let digest = Buffer.alloc(32);
  for (let round = 0; round < rounds; round++) digest = createHash('sha256').update(BLOCK).update(digest).digest();
  return digest.toString('hex');
}
