import { POLLING_CHANGE_SOURCE } from '../../lib/backend/result-change-source';
import { ReadResultForWait, waitForReadyResult } from '../../lib/backend/wait-for-ready-result';
import { ResultTimeoutError } from '../../lib/errors/result-timeout.error';
import { TaskResultMeta } from '../../lib/protocol/result-meta';

const BACKOFF = { initialDelayMs: 2, maxDelayMs: 20 };

function stored(status: string): TaskResultMeta {
  return { taskId: 't', status, result: null, traceback: null, children: [], dateDone: null };
}

/** A read function that returns the given answers in turn (the last one forever), counting calls. */
function answers(...sequence: (TaskResultMeta | null | undefined)[]): ReadResultForWait & { calls: number } {
  const read = Object.assign(async () => sequence[Math.min(read.calls++, sequence.length - 1)], { calls: 0 });
  return read;
}

describe('waitForReadyResult', () => {
  it('returns the first ready state, reading again after unready states and failed reads', async () => {
    const read = answers(null, stored('STARTED'), undefined, stored('SUCCESS'));
    expect((await waitForReadyResult('t', read, POLLING_CHANGE_SOURCE, BACKOFF)).status).toBe('SUCCESS');
    expect(read.calls).toBe(4);
  });

  it('backs off: few reads over a long wait', async () => {
    const read = answers(null);
    await expect(waitForReadyResult('t', read, POLLING_CHANGE_SOURCE, BACKOFF, { timeout: 300 })).rejects.toBeInstanceOf(ResultTimeoutError);
    expect(read.calls).toBeLessThan(30); // 2, 4, 8, 16, then every 20 ms
  });

  it('reads once with timeout 0, and names the last state seen', async () => {
    const read = answers(stored('RETRY'));
    await expect(waitForReadyResult('t', read, POLLING_CHANGE_SOURCE, BACKOFF, { timeout: 0 })).rejects.toThrow('(state: RETRY)');
    expect(read.calls).toBe(1);
  });

  it('rejects with the abort reason, also when aborted before it starts', async () => {
    const aborted = AbortSignal.abort(new Error('stop'));
    await expect(waitForReadyResult('t', answers(null), POLLING_CHANGE_SOURCE, BACKOFF, { signal: aborted })).rejects.toThrow('stop');
    const controller = new AbortController();
    const waiting = waitForReadyResult('t', answers(null), POLLING_CHANGE_SOURCE, BACKOFF, { signal: controller.signal });
    setTimeout(() => controller.abort(new Error('later')), 15);
    await expect(waiting).rejects.toThrow('later');
  });

  it('reads again as soon as the change source says so (the LISTEN/NOTIFY seam)', async () => {
    const read = answers(null, stored('SUCCESS'));
    const immediate = { waitForChange: async () => undefined };
    const started = Date.now();
    await waitForReadyResult('t', read, immediate, { initialDelayMs: 10_000, maxDelayMs: 10_000 });
    expect(Date.now() - started).toBeLessThan(1_000);
  });

  it('uses the states a watching source hands over as read, and closes the watch however the wait ends', async () => {
    const handed = [stored('STARTED'), undefined, stored('SUCCESS')];
    let closed = 0;
    const watching = {
      waitForChange: async () => undefined,
      watch: () => ({ next: async () => handed.shift(), close: () => void (closed += 1) }),
    };
    const read = answers(null, stored('RETRY'));
    expect((await waitForReadyResult('t', read, watching, BACKOFF)).status).toBe('SUCCESS');
    expect(read.calls).toBe(2); // the first read, and the one the watch asked for (undefined)
    expect(closed).toBe(1);
    await expect(waitForReadyResult('t', answers(null), watching, BACKOFF, { timeout: 0 })).rejects.toBeInstanceOf(ResultTimeoutError);
    expect(closed).toBe(2);
  });
});
