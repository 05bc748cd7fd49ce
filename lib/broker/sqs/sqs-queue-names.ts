/**
 * kombu's `entity_name`: SQS queue names allow only letters, digits, `-` and `_`, so `.` becomes
 * `-` and any other punctuation `_`; a `.fifo` suffix is kept (it marks a FIFO queue).
 */
export function sqsEntityName(name: string): string {
  if (name.endsWith('.fifo')) return `${translate(name.slice(0, -'.fifo'.length))}.fifo`;
  return translate(name);
}

/** kombu's `canonical_queue_name`: the prefix, then the name, made legal for SQS. */
export function canonicalSqsQueueName(prefix: string, name: string): string {
  return sqsEntityName(prefix + name);
}

/** Python's `string.punctuation`, less `-` and `_` (kept) and `.` (→ `-`). */
const PUNCTUATION = /[!"#$%&'()*+,/:;<=>?@[\\\]^`{|}~]/g;

function translate(name: string): string {
  return name.replace(/\./g, '-').replace(PUNCTUATION, '_');
}

export function isFifoQueueName(sqsName: string): boolean {
  return sqsName.endsWith('.fifo');
}
