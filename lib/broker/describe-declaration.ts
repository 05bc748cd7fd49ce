import type { ExchangeDeclaration, QueueDeclaration } from './broker.interface';

/** "durable=true exclusive=false auto_delete=false arguments={…}, bound to …", in kombu's vocabulary, for error messages. */
export function describeQueue(queue: QueueDeclaration): string {
  const flags = `durable=${queue.durable} exclusive=${queue.exclusive} auto_delete=${queue.autoDelete} arguments=${safeJson(queue.arguments)}`;
  if (!queue.exchange || queue.exchange.name === '') return `${flags} (default exchange only)`;
  return `${flags}, bound to exchange ${describeExchange(queue.exchange)} with key "${queue.routingKey ?? ''}"`;
}

/** `"celeryev" (topic, durable=true, auto_delete=false)`, for error messages. */
export function describeExchange(exchange: ExchangeDeclaration): string {
  return `"${exchange.name}" (${exchange.type}, durable=${exchange.durable}, auto_delete=${exchange.autoDelete ?? false})`;
}

function safeJson(value: unknown): string {
  try {
    return JSON.stringify(value, (_key, inner: unknown) => (typeof inner === 'bigint' ? inner.toString() : inner)) ?? '{}';
  } catch {
    return String(value);
  }
}
