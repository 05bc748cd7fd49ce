/**
 * The custom state Django's celery-progress reads a progress bar from
 * (`celery_progress.backend.PROGRESS_STATE`): its `Progress(AsyncResult(id)).get_info()` shows
 * the meta of a task in this state as the bar.
 */
export const PROGRESS_STATE = 'PROGRESS';

/**
 * The meta celery-progress's `ProgressRecorder.set_progress(current, total, description)` stores
 * with PROGRESS: the keys, their order and the percentage its JavaScript bar reads.
 */
export interface ProgressMeta {
  pending: false;
  current: number;
  total: number;
  /** 0 to 100, rounded to 2 decimals as Python's `round(Decimal, 2)` does (half to even). */
  percent: number;
  description: string;
}

/** The meta `ProgressRecorder.set_progress(current, total, description)` stores. */
export function progressMeta(current: number, total: number, description = ''): ProgressMeta {
  return { pending: false, current, total, percent: total > 0 ? percentOf(current, total) : 0, description };
}

/**
 * `float(round(Decimal(current) / Decimal(total) * 100, 2))`: exact for whole numbers (a tie
 * such as 1/32 = 3.125 % rounds to even, 3.12), the nearest double otherwise.
 */
function percentOf(current: number, total: number): number {
  if (!Number.isSafeInteger(current) || !Number.isSafeInteger(total)) return Math.round((current / total) * 10_000) / 100;
  const scaled = BigInt(current) * 10_000n; // hundredths of a percent
  const divisor = BigInt(total);
  let quotient = scaled / divisor;
  const twiceRemainder = (scaled % divisor) * 2n;
  const sign = scaled < 0n ? -1n : 1n;
  const magnitude = twiceRemainder < 0n ? -twiceRemainder : twiceRemainder;
  if (magnitude > divisor || (magnitude === divisor && quotient % 2n !== 0n)) quotient += sign;
  return Number(quotient) / 100;
}
