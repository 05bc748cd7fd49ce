/** Where an item of an InFlightSet sits; what `add()` returns and `delete()` takes. */
export interface InFlightEntry<T> {
  readonly value: T;
  /** Its place in the set's array; -1 once deleted. */
  index: number;
}

/**
 * The items in flight now — tasks running, tasks being handled, unconfirmed publishes — where one
 * is added and deleted for every task. An array with swapped-in deletes, instead of a Map or Set,
 * because of how V8 (Node.js 20–24) grows and cleans a Map's hash table: it rehashes into a new
 * table every few adds and leaves the old table, entries and all, pointing to the new one (for
 * iterators still walking it). With an entry for every task, those tables form a chain through
 * time. Young tables die young, until a major GC promotes the one current then: from that moment
 * every table after it is kept alive by the one before, until the next major GC, and with them
 * every task their entries hold. A worker draining 100,000 no-op tasks promoted 175–184 MiB so
 * instead of 0.3, and its RSS grew from 88 to ≈ 150 MiB (docs/PERFORMANCE.md, "Memory").
 * Order is not kept: a delete moves the last entry into the hole.
 */
export class InFlightSet<T> {
  private readonly entries: InFlightEntry<T>[] = [];

  get size(): number {
    return this.entries.length;
  }

  add(value: T): InFlightEntry<T> {
    const entry = { value, index: this.entries.length };
    this.entries.push(entry);
    return entry;
  }

  /** Deletes the entry `add()` returned; false if it was deleted already. */
  delete(entry: InFlightEntry<T>): boolean {
    const index = entry.index;
    if (index < 0 || this.entries[index] !== entry) return false;
    const last = this.entries.pop()!;
    if (last !== entry) {
      this.entries[index] = last;
      last.index = index;
    }
    entry.index = -1;
    return true;
  }

  /** A copy of the values: the caller may delete while it walks them. */
  values(): T[] {
    return this.entries.map((entry) => entry.value);
  }
}
