/** URL schemes the AMQP broker accepts; `pyamqp` is Celery's name for the same transport. */
export const AMQP_URL_SCHEMES = ['amqp', 'amqps', 'pyamqp'] as const;

/** The scheme of a URL in lower case ("amqp" for "AMQP://…"), or undefined if there is none. */
export function urlScheme(url: string): string | undefined {
  return /^([a-z][a-z0-9+.-]*):\/\//i.exec(url)?.[1]?.toLowerCase();
}

/** The URL amqplib understands: Celery's `pyamqp://` becomes `amqp://`, the rest is kept as written. */
export function toAmqplibUrl(url: string): string {
  return url.replace(/^pyamqp:\/\//i, 'amqp://');
}
