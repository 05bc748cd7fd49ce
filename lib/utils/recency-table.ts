import { InFlightQueue, QueuedItem } from './in-flight-queue';
import { KeyedTable } from './keyed-table';

/** One key's value and its place in the recency order. */
class RecencyEntry<V> implements QueuedItem {
  queuePosition = -1;
  constructor(
    readonly key: string,
    public value: V,
  ) {}
}

/**
 * A bounded table that forgets the least recently set key past `maxEntries`: the latest state of
 * each rpc:// task, the task ids PostgreSQL NOTIFYed lately. A Map in insertion order did this with
 * a delete and a set on every update, the churn by which V8 chains a Map's obsolete hash tables and
 * every value they hold into old space (lib/utils/in-flight-set.ts); a KeyedTable for the lookup
 * and an InFlightQueue for the order form no chain.
 */
export class RecencyTable<V> {
  private readonly entries = new KeyedTable<RecencyEntry<V>>();
  private readonly order = new InFlightQueue<RecencyEntry<V>>();

  constructor(private readonly maxEntries: number) {}

  get size(): number {
    return this.entries.size;
  }

  get(key: string): V | undefined {
    return this.entries.get(key)?.value;
  }

  /** Sets the key's value and makes it the most recent; drops the least recent past the bound. */
  set(key: string, value: V): void {
    let entry = this.entries.get(key);
    if (entry) {
      this.order.delete(entry);
      entry.value = value;
    } else {
      entry = new RecencyEntry(key, value);
      this.entries.set(key, entry);
    }
    this.order.add(entry);
    if (this.entries.size > this.maxEntries) this.delete(this.order.first()!.key);
  }

  /** False if the key was not there. */
  delete(key: string): boolean {
    const entry = this.entries.get(key);
    if (!entry) return false;
    this.entries.delete(key);
    this.order.delete(entry);
    return true;
  }

  clear(): void {
    this.entries.clear();
    this.order.clear();
  }
}
