import { BadRequestException } from '@nestjs/common';
import type { TaskFilter } from '../monitoring/task-query';
import { InvalidRateLimitError, parseRateLimit } from '../task/rate-limit';

/*
 * The dashboard API's inputs, checked before anything is sent to a worker: a bad value is a 400
 * that says which field, what was wrong and what is expected.
 */

/** Query string of GET /api/tasks. */
export function readTaskFilter(query: Record<string, unknown>): TaskFilter {
  const filter: TaskFilter = {};
  const text = (field: 'name' | 'state' | 'worker') => {
    const value = query[field];
    if (value === undefined || value === '') return;
    if (typeof value !== 'string') throw new BadRequestException(`Query parameter "${field}" must be given once, as text.`);
    filter[field] = field === 'state' ? value.toUpperCase() : value;
  };
  text('name');
  text('state');
  text('worker');
  filter.from = readTime(query.from, 'from');
  filter.to = readTime(query.to, 'to');
  if (filter.from !== undefined && filter.to !== undefined && filter.from > filter.to) throw new BadRequestException('Query parameter "from" must not be after "to".');
  filter.limit = readPositiveInteger(query.limit, 'limit', 500, 10_000);
  return filter;
}

/** Query string of GET /api/series: `window` and `bucket` in seconds. */
export function readSeriesQuery(query: Record<string, unknown>): { windowSeconds: number; bucketSeconds: number } {
  const windowSeconds = readPositiveInteger(query.window, 'window', 600, 7 * 24 * 3600);
  const bucketSeconds = readPositiveInteger(query.bucket, 'bucket', 10, windowSeconds);
  if (windowSeconds / bucketSeconds > 1000) throw new BadRequestException('Query parameters "window" / "bucket" must give at most 1000 points; use larger buckets.');
  return { windowSeconds, bucketSeconds };
}

/** Body of POST /api/tasks/:id/revoke. */
export function readRevokeBody(body: unknown): { terminate: boolean } {
  const fields = readObject(body, optional);
  const terminate = fields.terminate ?? false;
  if (typeof terminate !== 'boolean') throw new BadRequestException('"terminate" must be true or false.');
  return { terminate };
}

/** Body of POST /api/rate-limit. */
export function readRateLimitBody(body: unknown): { taskName: string; rateLimit: string | null; worker: string | undefined } {
  const fields = readObject(body, required);
  const { taskName, rateLimit, worker } = fields;
  if (typeof taskName !== 'string' || taskName.trim() === '') throw new BadRequestException('"taskName" must be the name of a task, such as "tasks.add".');
  if (rateLimit !== null && typeof rateLimit !== 'string' && typeof rateLimit !== 'number') {
    throw new BadRequestException('"rateLimit" must be Celery\'s rate syntax ("10/s", "100/m", "1000/h", a number per second), or null for none.');
  }
  try {
    parseRateLimit(rateLimit);
  } catch (error) {
    if (error instanceof InvalidRateLimitError) throw new BadRequestException(`"rateLimit": ${error.message}`);
    throw error;
  }
  if (worker !== undefined && (typeof worker !== 'string' || worker === '')) throw new BadRequestException('"worker" must be a worker node name such as "celery@host", or left out for every worker.');
  const normalised = rateLimit === null || rateLimit === '' ? null : String(rateLimit);
  return { taskName: taskName.trim(), rateLimit: normalised, worker: worker as string | undefined };
}

/** A queue pause or resume: on one worker (`{ worker }`), or on every worker (no body, or no worker). */
export function readQueueBody(body: unknown): { worker: string | undefined } {
  const { worker } = readObject(body, optional);
  if (worker !== undefined && worker !== null && (typeof worker !== 'string' || worker === '')) {
    throw new BadRequestException('"worker" must be a worker node name such as "celery@host", or left out for every worker.');
  }
  return { worker: (worker as string | null | undefined) ?? undefined };
}

/** A periodic task's id in the URL: django-celery-beat's integer primary key. */
export function readScheduleId(id: string): number {
  if (!/^[1-9][0-9]*$/.test(id)) throw new BadRequestException(`"${id}" is not a periodic task id (a positive whole number).`);
  return Number(id);
}

/** `{ enabled: true | false }`. */
export function readEnabledBody(body: unknown): { enabled: boolean } {
  const { enabled } = readObject(body, required);
  if (typeof enabled !== 'boolean') throw new BadRequestException('"enabled" must be true or false.');
  return { enabled };
}

const optional = true;
const required = false;

function readObject(body: unknown, mayBeEmpty: boolean): Record<string, unknown> {
  if ((body === undefined || body === null || body === '') && mayBeEmpty) return {};
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new BadRequestException('The request body must be a JSON object (Content-Type: application/json).');
  return body as Record<string, unknown>;
}

/** Epoch seconds, epoch milliseconds would be a mistake: accept seconds or an ISO date. */
function readTime(value: unknown, field: string): number | undefined {
  if (value === undefined || value === '') return undefined;
  if (typeof value === 'string') {
    if (/^\d+(\.\d+)?$/.test(value)) return Number(value);
    const parsed = Date.parse(value);
    if (!Number.isNaN(parsed)) return parsed / 1000;
  }
  throw new BadRequestException(`Query parameter "${field}" must be epoch seconds or an ISO date such as 2026-01-31T12:00:00Z, got ${JSON.stringify(value)}.`);
}

function readPositiveInteger(value: unknown, field: string, fallback: number, max: number): number {
  if (value === undefined || value === '') return fallback;
  const number = typeof value === 'string' && /^\d+$/.test(value) ? Number(value) : NaN;
  if (!Number.isInteger(number) || number < 1 || number > max) throw new BadRequestException(`Query parameter "${field}" must be a whole number from 1 to ${max}, got ${JSON.stringify(value)}.`);
  return number;
}
