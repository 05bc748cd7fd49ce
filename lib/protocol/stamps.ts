/**
 * Celery 5.3+ stamps (the canvas Stamping API): a task message names its stamps in the
 * `stamped_headers` header and carries their values in the `stamps` header; in a signature dict's
 * options (a chain step, a callback) `stamped_headers` names them and each stamp is an option of
 * its own. A stamp's value is a string or a list of them.
 */
export type Stamps = Record<string, unknown>;

/** The stamps of a task message's headers, `{name: value}`; empty when it has none (Celery ≤ 5.2, or unstamped). */
export function stampsOfHeaders(headers: Record<string, unknown>): Stamps {
  const names = headers.stamped_headers;
  const values = headers.stamps;
  if (!Array.isArray(names) || names.length === 0 || typeof values !== 'object' || values === null) return {};
  const stamps: Stamps = {};
  for (const name of names) if (typeof name === 'string') stamps[name] = (values as Stamps)[name] ?? null;
  return stamps;
}

/** The headers that carry `stamps` on a task message, as Celery's `as_task_v2` writes them. */
export function stampHeaders(stamps: Stamps): { stamped_headers: string[]; stamps: Stamps } {
  return { stamped_headers: Object.keys(stamps), stamps: { ...stamps } };
}

/** The stamps in a signature dict's options: `stamped_headers` and one option per stamp. */
export function stampsOfOptions(options: Record<string, unknown>): Stamps {
  const names = options.stamped_headers;
  if (!Array.isArray(names) || names.length === 0) return {};
  const stamps: Stamps = {};
  for (const name of names) if (typeof name === 'string') stamps[name] = options[name] ?? null;
  return stamps;
}

/** `stamps` as signature-dict options, the inverse of stampsOfOptions. */
export function stampOptions(stamps: Stamps): Record<string, unknown> {
  return { stamped_headers: Object.keys(stamps), ...stamps };
}
