import type { ExchangeDeclaration, QueueDeclaration } from '../broker.interface';

/**
 * RabbitMQ's rule for re-declaring a queue: same durable/exclusive/auto_delete flags and the same
 * arguments, or PRECONDITION_FAILED. Returns the reason in RabbitMQ's words, or undefined when the
 * declarations are equivalent. (RabbitMQ compares only the x-arguments it knows; we compare all of
 * them, so a mismatch is caught in the embedded mode before it fails on RabbitMQ.)
 */
export function queueInequivalence(current: QueueDeclaration, requested: QueueDeclaration): string | undefined {
  for (const flag of ['durable', 'exclusive', 'autoDelete'] as const) {
    if (current[flag] !== requested[flag]) {
      const name = flag === 'autoDelete' ? 'auto_delete' : flag;
      return inequivalent(name, 'queue', current.name, requested[flag], current[flag]);
    }
  }
  const keys = new Set([...definedKeys(current.arguments), ...definedKeys(requested.arguments)]);
  for (const key of keys) {
    if (!sameValue(current.arguments[key], requested.arguments[key])) {
      return inequivalent(key, 'queue', current.name, requested.arguments[key], current.arguments[key]);
    }
  }
  return undefined;
}

/** The same rule for exchanges: type, durable and auto_delete must match. */
export function exchangeInequivalence(current: ExchangeDeclaration, requested: ExchangeDeclaration): string | undefined {
  if (current.type !== requested.type) return inequivalent('type', 'exchange', current.name, requested.type, current.type);
  if (current.durable !== requested.durable) return inequivalent('durable', 'exchange', current.name, requested.durable, current.durable);
  const currentAutoDelete = current.autoDelete ?? false;
  const requestedAutoDelete = requested.autoDelete ?? false;
  if (currentAutoDelete !== requestedAutoDelete) {
    return inequivalent('auto_delete', 'exchange', current.name, requestedAutoDelete, currentAutoDelete);
  }
  return undefined;
}

function inequivalent(arg: string, kind: string, name: string, received: unknown, current: unknown): string {
  const show = (value: unknown): string => (value === undefined ? 'none' : `'${String(value)}'`);
  return `PRECONDITION_FAILED - inequivalent arg '${arg}' for ${kind} '${name}': received ${show(received)} but current is ${show(current)}`;
}

function definedKeys(record: Record<string, unknown>): string[] {
  return Object.keys(record).filter((key) => record[key] !== undefined);
}

/** Structural equality of argument values (numbers by value, whatever AMQP integer type they would travel as). */
function sameValue(left: unknown, right: unknown): boolean {
  if (left === right) return true;
  if (typeof left === 'bigint' || typeof right === 'bigint') {
    const asBigInt = (value: unknown): bigint | undefined =>
      typeof value === 'bigint' ? value : Number.isInteger(value) ? BigInt(value as number) : undefined;
    const [a, b] = [asBigInt(left), asBigInt(right)];
    return a !== undefined && a === b;
  }
  if (Buffer.isBuffer(left) && Buffer.isBuffer(right)) return left.equals(right);
  if (Array.isArray(left) && Array.isArray(right)) {
    return left.length === right.length && left.every((item, index) => sameValue(item, right[index]));
  }
  if (isPlainRecord(left) && isPlainRecord(right)) {
    const keys = new Set([...definedKeys(left), ...definedKeys(right)]);
    return [...keys].every((key) => sameValue(left[key], right[key]));
  }
  return false;
}

function isPlainRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !Buffer.isBuffer(value);
}
