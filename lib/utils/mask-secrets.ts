/**
 * The one place where credentials are hidden before anything reaches a log line or an error:
 * `amqp://guest:secret@host//` → `amqp://guest:***@host//`.
 */
export function maskUrl(url: string): string {
  // A failover list (kombu's `amqp://a;amqp://b`) is masked URL by URL: every password hidden.
  if (url.includes(';')) return url.split(';').map(maskUrl).join(';');
  // An AWS secret access key often holds a "/", which users forget to percent-encode: for sqs://
  // the secret runs to the last "@" wherever it is.
  if (/^\s*sqs:\/\//i.test(url)) return url.replace(/^(\s*sqs:\/\/[^:@/]*):(.+)@/i, '$1:***@');
  // The scheme is optional so a mistyped `user:password@host` is masked too. The password runs to
  // the last `@` before the path, as kombu reads it: all of `p@ss` in `u:p@ss@host`.
  return url.replace(/^(\s*(?:[a-z][a-z0-9+.-]*:\/\/)?)([^:@/]*):([^/]*)@/i, '$1$2:***@');
}

/** Masks every URL-with-password found inside free text (driver error messages quote them). */
export function maskSecretsInText(text: string): string {
  return text.replace(/([a-z][a-z0-9+.-]*:\/\/)([^:@/\s]*):([^/\s]*)@/gi, '$1$2:***@');
}
