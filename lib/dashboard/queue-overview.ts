import type { Broker } from '../broker/broker.interface';
import type { RepliesByNode } from '../control/inspect';
import type { QueueInfo } from '../control/control-replies';

/** One queue as the dashboard's queues page shows it (Flower's broker tab, without RabbitMQ's management plugin). */
export interface QueueRow {
  name: string;
  /** Messages ready (a passive declare, kombu's `queue_declare(passive=True)`); null when the queue does not exist. */
  messages: number | null;
  /** Workers consuming it now, by `inspect active_queues` (Python ones included). */
  consumers: string[];
  /** Workers seen consuming it before: where a pause can be undone. */
  pausedOn: string[];
  /** Change of `messages` per second since the previous read (negative: draining); null on the first read. */
  ratePerSecond: number | null;
  /** How it is declared (exchange, routing key), for add_consumer to declare it alike. */
  exchange: string | null;
  routingKey: string | null;
}

interface KnownQueue {
  info: QueueInfo | null;
  /** Every worker seen consuming it. */
  seenOn: Set<string>;
  lastSample: { at: number; messages: number } | null;
}

/**
 * The queues the workers consume, remembered across reads so a paused queue (every consumer
 * cancelled) stays listed and can be resumed where it ran. Depth comes from the broker; consumers
 * from the workers' own `active_queues` replies, which Python workers answer too.
 */
export class QueueOverview {
  private readonly known = new Map<string, KnownQueue>();

  constructor(private readonly broker: Broker, defaultQueue: string) {
    this.known.set(defaultQueue, { info: null, seenOn: new Set(), lastSample: null });
  }

  /** Remembers where a queue is consumed without reading the broker (a resume names the workers it asked). */
  declaration(name: string): QueueInfo | null {
    return this.known.get(name)?.info ?? null;
  }

  async read(activeQueues: RepliesByNode<QueueInfo[]>): Promise<QueueRow[]> {
    const consumers = new Map<string, string[]>();
    for (const [worker, queues] of Object.entries(activeQueues)) {
      for (const info of queues ?? []) {
        const entry = this.known.get(info.name) ?? { info, seenOn: new Set<string>(), lastSample: null };
        entry.info = info;
        entry.seenOn.add(worker);
        this.known.set(info.name, entry);
        consumers.set(info.name, [...(consumers.get(info.name) ?? []), worker]);
      }
    }
    const names = [...this.known.keys()].sort();
    return Promise.all(names.map((name) => this.row(name, consumers.get(name) ?? [])));
  }

  private async row(name: string, consumers: string[]): Promise<QueueRow> {
    const entry = this.known.get(name)!;
    const messages = await this.broker.queueDepth(name).catch(() => null);
    const now = Date.now();
    const previous = entry.lastSample;
    const ratePerSecond = messages !== null && previous && now > previous.at ? Math.round(((messages - previous.messages) * 1000 * 10) / (now - previous.at)) / 10 : null;
    entry.lastSample = messages === null ? null : { at: now, messages };
    return {
      name,
      messages,
      consumers: consumers.sort(),
      pausedOn: [...entry.seenOn].filter((worker) => !consumers.includes(worker)).sort(),
      ratePerSecond,
      exchange: entry.info?.exchange?.name ?? null,
      routingKey: entry.info?.routing_key ?? null,
    };
  }
}
