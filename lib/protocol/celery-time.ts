/**
 * Dates as Celery writes and reads them on the wire (celery-protocol.md §2.4). Python emits
 * `datetime.isoformat()`: `2026-11-24T08:34:42.672159+00:00`, microseconds omitted when zero,
 * never `Z`. The 5.2.6 worker misreads fractions that are not six digits, so we always write six.
 */
export function formatCeleryDate(date: Date): string {
  return `${formatNaiveUtc(date)}+00:00`;
}

/** `date_done` in results: a naive UTC `isoformat()` (`2026-11-24T08:13:01.904440`). */
export function formatNaiveUtc(date: Date): string {
  const iso = date.toISOString(); // 2026-11-24T08:13:01.904Z
  const milliseconds = date.getUTCMilliseconds();
  const seconds = iso.slice(0, 19);
  return milliseconds === 0 ? seconds : `${seconds}.${String(milliseconds * 1000).padStart(6, '0')}`;
}

const ISO_8601 =
  /^(\d{4})-(\d{2})-(\d{2})[T ](\d{2}):(\d{2})(?::(\d{2})(?:[.,](\d{1,9}))?)?\s*(Z|[+-]\d{2}(?::?\d{2})?)?$/i;

/**
 * Parses the ISO-8601 forms Celery producers send (Python, PHP, Java, JS): `T` or space,
 * optional seconds and fraction, `Z`, `±HH:MM`, `±HHMM`, or no offset (naive = UTC, the
 * default Celery timezone). Returns null when the text is not a date.
 */
export function parseCeleryDate(text: string): Date | null {
  const match = ISO_8601.exec(text.trim());
  if (!match) return null;
  const [, year, month, day, hour, minute, second = '0', fraction = '', offset] = match;
  // Truncated to the millisecond from the digits, as Date holds no more: rounding carried .9995 s
  // and later into the next second, which the check below then refused as a date that does not exist.
  const milliseconds = Number(fraction.padEnd(3, '0').slice(0, 3));
  const date = new Date(Date.UTC(2000, 0, 1, +hour, +minute, +second, milliseconds));
  date.setUTCFullYear(+year, +month - 1, +day); // not Date.UTC's year: it maps 0–99 to 1900–1999
  // Date rolls impossible values over (Feb 30 → Mar 2); Python's datetime refuses them, and so do we.
  const exists =
    +year >= 1 &&
    date.getUTCFullYear() === +year &&
    date.getUTCMonth() === +month - 1 &&
    date.getUTCDate() === +day &&
    date.getUTCHours() === +hour &&
    date.getUTCMinutes() === +minute &&
    date.getUTCSeconds() === +second;
  return exists ? new Date(date.getTime() - offsetMinutes(offset) * 60_000) : null;
}

function offsetMinutes(offset: string | undefined): number {
  if (!offset || offset.toUpperCase() === 'Z') return 0;
  const sign = offset.startsWith('-') ? -1 : 1;
  const digits = offset.slice(1).replace(':', '');
  return sign * (Number(digits.slice(0, 2)) * 60 + Number(digits.slice(2, 4) || '0'));
}
