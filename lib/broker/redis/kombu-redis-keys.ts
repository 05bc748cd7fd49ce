/**
 * The key and channel names kombu's Redis transport (kombu 5.2.4, `kombu/transport/redis.py`)
 * uses, with its defaults, so Python and Nest participants meet on the same keys.
 */

/** kombu `Channel.sep`: separates a queue from its priority band, and the fields of a binding. */
export const KOMBU_SEPARATOR = '\x06\x16';

/**
 * kombu `PRIORITY_STEPS`: priorities 0–9 fall in four bands, each its own list. BRPOP reads the
 * bands in this order, so on Redis **0 is the highest priority** and 9 the lowest (the reverse
 * of RabbitMQ's x-max-priority).
 */
export const PRIORITY_STEPS = [0, 3, 6, 9] as const;

/** kombu's `unacked`, `unacked_index`, `unacked_mutex` keys (one set per database, shared by all consumers). */
export const UNACKED_KEY = 'unacked';
export const UNACKED_INDEX_KEY = 'unacked_index';
export const UNACKED_MUTEX_KEY = 'unacked_mutex';
/** kombu `unacked_mutex_expire`: a restorer that died releases the mutex after 5 minutes. */
export const UNACKED_MUTEX_EXPIRE_SECONDS = 300;
/** kombu `visibility_timeout`: an unacked message is given back to its queue after one hour. */
export const DEFAULT_VISIBILITY_TIMEOUT_SECONDS = 3600;

/** The band a priority falls in (kombu `Channel.priority`): clamped to 0–9, then rounded down to a step. */
export function priorityBand(priority: number | undefined): number {
  const clamped = Math.max(0, Math.min(9, Math.trunc(priority ?? 0) || 0));
  let band: number = PRIORITY_STEPS[0];
  for (const step of PRIORITY_STEPS) if (step <= clamped) band = step;
  return band;
}

/** The list holding a queue's messages of a band (kombu `_q_for_pri`): `queue`, `queue\x06\x163`, … */
export function priorityList(queue: string, band: number): string {
  return band ? `${queue}${KOMBU_SEPARATOR}${band}` : queue;
}

/** Every list of a queue, highest priority first. */
export function priorityLists(queue: string): string[] {
  return PRIORITY_STEPS.map((band) => priorityList(queue, band));
}

/**
 * The lists a consumer of several queues gives BRPOP, band by band across the queues (kombu
 * `_brpop_start`: `for pri in priority_steps for queue in queues`), so a priority-0 message of any
 * queue comes before a priority-9 one of another, as for a Python consumer of the same queues.
 */
export function brpopLists(queues: readonly string[]): string[] {
  return PRIORITY_STEPS.flatMap((band) => queues.map((queue) => priorityList(queue, band)));
}

/** The queue a list belongs to (kombu `_brpop_read`: `dest.rsplit(sep, 1)[0]`). */
export function queueOfList(list: string): string {
  const at = list.lastIndexOf(KOMBU_SEPARATOR);
  return at < 0 ? list : list.slice(0, at);
}

/** The set of an exchange's bindings (kombu `keyprefix_queue`). */
export function bindingSetKey(exchange: string): string {
  return `_kombu.binding.${exchange}`;
}

/** One binding as kombu stores it in that set: `routing_key SEP pattern SEP queue`. */
export interface KombuBinding {
  routingKey: string;
  /** The regular expression of a topic binding; '' for direct and fanout. */
  pattern: string;
  queue: string;
}

export function encodeBinding(binding: KombuBinding): string {
  return [binding.routingKey, binding.pattern, binding.queue].join(KOMBU_SEPARATOR);
}

export function decodeBinding(member: string): KombuBinding {
  const [routingKey = '', pattern = '', queue = ''] = member.split(KOMBU_SEPARATOR);
  return { routingKey, pattern, queue };
}

/**
 * The pub/sub channel of a fanout publish (kombu `_get_publish_topic` with Celery's defaults
 * `fanout_prefix=True`, `fanout_patterns=True`): `/{db}.exchange`, or `/{db}.exchange/routing_key`
 * when there is a routing key. Subscribers PSUBSCRIBE the same form built from their binding key,
 * `#` turned into `*`.
 */
export function fanoutChannel(db: number, exchange: string, routingKey: string): string {
  return routingKey ? `/${db}.${exchange}/${routingKey}` : `/${db}.${exchange}`;
}

/** The exchange a fanout channel belongs to (kombu `_receive_one`: drop `/{db}.`, cut at the first `/`). */
export function exchangeOfFanoutChannel(channel: string): string {
  const name = channel.startsWith('/') ? channel.slice(channel.indexOf('.') + 1) : channel;
  const slash = name.indexOf('/');
  return slash < 0 ? name : name.slice(0, slash);
}

/**
 * The regular expression kombu stores for a topic binding (`TopicExchange.key_to_pattern`):
 * `*` → `.*?[^\.]`, `#` → `.*?`, words joined by `\.`, anchored. Kept in kombu's exact text
 * because Python publishers match with the pattern we store, and we with theirs.
 */
export function topicBindingPattern(routingKey: string): string {
  // kombu's escape_regex: every character but letters, digits and `.#*` gets a backslash.
  const escaped = routingKey.replace(/[^\p{L}\p{N}.#*]/gu, (char) => `\\${char}`);
  const words = escaped.split('.').map((word) => (word === '*' ? '.*?[^\\.]' : word === '#' ? '.*?' : word));
  return `^${words.join('\\.')}$`;
}
