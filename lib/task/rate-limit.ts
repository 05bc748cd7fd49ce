import { CeleryError } from '../errors/celery.error';

/** Tasks per second, parsed from Celery's rate strings; null = unlimited. */
export type TasksPerSecond = number | null;

const UNITS: Record<string, number> = { s: 1, m: 60, h: 3600 };

/**
 * Parses Celery's `rate_limit` syntax: `"10/s"`, `"100/m"`, `"1000/h"`, a bare number (per second);
 * `0`, `"0"`, null or undefined disable the limit. Throws InvalidRateLimitError otherwise.
 */
export function parseRateLimit(limit: string | number | null | undefined): TasksPerSecond {
  if (limit === null || limit === undefined || limit === '' || limit === 0 || limit === '0') return null;
  if (typeof limit === 'number') {
    if (Number.isFinite(limit) && limit > 0) return limit;
    throw new InvalidRateLimitError(String(limit));
  }
  const match = /^\s*(\d+(?:\.\d+)?)\s*(?:\/\s*([smh]))?\s*$/.exec(limit);
  if (!match) throw new InvalidRateLimitError(limit);
  const count = Number(match[1]);
  return count === 0 ? null : count / UNITS[match[2] ?? 's'];
}

export class InvalidRateLimitError extends CeleryError {
  constructor(limit: string) {
    super(`Invalid rate limit string: "${limit}". Use Celery's syntax: "10/s", "100/m", "1000/h", or a number of tasks per second.`);
  }
}

/**
 * kombu's TokenBucket with capacity 1, as Celery uses it per task: tasks are spaced evenly at
 * 1/rate seconds, with no burst.
 */
export class TokenBucket {
  private tokens = 1;
  private updatedAt: number;

  constructor(
    private readonly perSecond: number,
    now = Date.now(),
  ) {
    this.updatedAt = now;
  }

  /** Takes a token if one is there. */
  take(now = Date.now()): boolean {
    this.refill(now);
    if (this.tokens < 1) return false;
    this.tokens -= 1;
    return true;
  }

  /** Milliseconds until the next token. */
  waitMs(now = Date.now()): number {
    this.refill(now);
    return this.tokens >= 1 ? 0 : Math.ceil(((1 - this.tokens) / this.perSecond) * 1000);
  }

  private refill(now: number): void {
    this.tokens = Math.min(1, this.tokens + ((now - this.updatedAt) / 1000) * this.perSecond);
    this.updatedAt = now;
  }
}
