import { ResultExpiryScheduler } from '../../lib/backend/result-expiry-scheduler';
import { CeleryLogger } from '../../lib/utils/logger';

function recordingStore(deleted: number | Error) {
  const cutoffs: Date[] = [];
  return {
    cutoffs,
    description: 'test store',
    deleteExpired: async (olderThan: Date) => {
      cutoffs.push(olderThan);
      if (deleted instanceof Error) throw deleted;
      return deleted;
    },
  };
}

function logger(lines: string[]): CeleryLogger {
  return { log: (line) => void lines.push(line), warn: (line) => void lines.push(`warn: ${line}`), error: () => undefined };
}

const tick = () => new Promise((resolve) => setImmediate(resolve));

describe('ResultExpiryScheduler', () => {
  it('deletes results older than resultExpiresSeconds at start and on its timer', async () => {
    const store = recordingStore(3);
    const lines: string[] = [];
    const scheduler = new ResultExpiryScheduler(store, 60, 20, logger(lines));
    scheduler.start();
    await tick();
    expect(store.cutoffs).toHaveLength(1);
    expect(Date.now() - store.cutoffs[0].getTime()).toBeGreaterThanOrEqual(60_000);
    await new Promise((resolve) => setTimeout(resolve, 70));
    await scheduler.stop();
    expect(store.cutoffs.length).toBeGreaterThanOrEqual(2);
    expect(lines[0]).toBe('Deleted 3 expired result(s) from test store');
  });

  it('does nothing when results never expire', async () => {
    const store = recordingStore(0);
    const scheduler = new ResultExpiryScheduler(store, 0, 10, logger([]));
    scheduler.start();
    await new Promise((resolve) => setTimeout(resolve, 30));
    await scheduler.stop();
    expect(store.cutoffs).toHaveLength(0);
  });

  it('logs a failed cleanup and keeps going', async () => {
    const lines: string[] = [];
    const scheduler = new ResultExpiryScheduler(recordingStore(new Error('db down')), 60, 1000, logger(lines));
    scheduler.start();
    await tick();
    await scheduler.stop();
    expect(lines).toEqual(['warn: Could not delete expired results from test store: db down. Retrying in 1000 ms.']);
  });
});
