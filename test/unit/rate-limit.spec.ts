import { InvalidRateLimitError, parseRateLimit, TokenBucket } from '../../lib/task/rate-limit';

describe("Celery's rate limit syntax", () => {
  it.each([
    ['10/s', 10],
    ['100/m', 100 / 60],
    ['1000/h', 1000 / 3600],
    ['2.5', 2.5],
    [4, 4],
    ['0', null],
    [0, null],
    [null, null],
    [undefined, null],
  ])('%j is %j tasks per second', (limit, perSecond) => {
    expect(parseRateLimit(limit as string)).toBe(perSecond);
  });

  it.each(['fast', '10/d', '-1/s', '/s'])('refuses %j with the syntax to use', (limit) => {
    expect(() => parseRateLimit(limit)).toThrow(InvalidRateLimitError);
    expect(() => parseRateLimit(limit)).toThrow(/"10\/s", "100\/m", "1000\/h"/);
  });
});

describe('token bucket (capacity 1, as Celery uses it)', () => {
  it('spaces takes at 1/rate and says how long to wait', () => {
    const bucket = new TokenBucket(4, 0);
    expect(bucket.take(0)).toBe(true);
    expect(bucket.take(100)).toBe(false);
    expect(bucket.waitMs(100)).toBe(150);
    expect(bucket.take(250)).toBe(true);
    expect(bucket.take(10_000)).toBe(true);
    expect(bucket.take(10_000)).toBe(false); // no burst after a long idle time
  });
});
