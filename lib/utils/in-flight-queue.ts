/** What an InFlightQueue needs on each item: where the queue put it. */
export interface QueuedItem {
  /** Its place in the queue it is in (set by `add()`); -1 when in none. An item is in one queue at a time. */
  queuePosition: number;
}

/** The holes are squeezed out once there are this many and at least as many as items. */
const COMPACT_AFTER = 1024;

/**
 * The InFlightSet (in-flight-set.ts) for items whose order matters — unconfirmed publishes, waiting
 * or sent, kept in publish order — and for the same reason: no Map or Set, whose obsolete hash
 * tables V8 chains through time when one item is added and deleted per message (see there). An
 * array with holes: `add()` appends, `delete()` clears the item's slot, the holes at the head are
 * skipped, and once the holes outnumber the items they are squeezed out in place (so one item that
 * stays while thousands behind it come and go cannot grow it without end). Each item carries its
 * own position, so a delete costs no search; deleted slots hold nothing, and the array is never
 * replaced: with a fresh array per compaction, sendBulk() went back to promoting (less) in 3 of 6
 * runs, in place in none (docs/PERFORMANCE.md, "Memory"; a dead array left in old space holding
 * the items of its day is the likely link).
 */
export class InFlightQueue<T extends QueuedItem> {
  private readonly slots: (T | undefined)[] = [];
  /** Index of the first slot that may hold an item; the ones before it are holes. */
  private head = 0;
  /** The position of slots[0]: positions only grow, so an item's position stays valid across compactions. */
  private offset = 0;
  private count = 0;

  get size(): number {
    return this.count;
  }

  /** Appends the item (it must be in no queue). */
  add(item: T): void {
    item.queuePosition = this.offset + this.slots.length;
    this.slots.push(item);
    this.count++;
  }

  /** Deletes the item if it is in this queue; false if not (deleted already, or in another queue). */
  delete(item: T): boolean {
    const index = item.queuePosition - this.offset;
    if (index < this.head || index >= this.slots.length || this.slots[index] !== item) return false;
    this.slots[index] = undefined;
    item.queuePosition = -1;
    this.count--;
    if (this.count === 0) {
      this.offset += this.slots.length;
      this.slots.length = 0;
      this.head = 0;
    } else {
      if (index === this.head) while (this.slots[this.head] === undefined) this.head++;
      const holes = this.slots.length - this.count;
      if (holes >= COMPACT_AFTER && holes >= this.count) this.compact();
    }
    return true;
  }

  /** The oldest item, or undefined when empty. */
  first(): T | undefined {
    return this.count === 0 ? undefined : this.slots[this.head];
  }

  /** A copy of the items, oldest first: the caller may delete while it walks them. */
  values(): T[] {
    const values: T[] = [];
    for (let index = this.head; index < this.slots.length; index++) {
      const item = this.slots[index];
      if (item !== undefined) values.push(item);
    }
    return values;
  }

  /** The oldest item that matches, or undefined. */
  find(matches: (item: T) => boolean): T | undefined {
    for (let index = this.head; index < this.slots.length; index++) {
      const item = this.slots[index];
      if (item !== undefined && matches(item)) return item;
    }
    return undefined;
  }

  /** Empties the queue (its items' positions are reset). */
  clear(): void {
    for (const item of this.values()) item.queuePosition = -1;
    this.offset += this.slots.length;
    this.slots.length = 0;
    this.head = 0;
    this.count = 0;
  }

  /** Moves the items to the front of the array, in order, with new positions after every old one. */
  private compact(): void {
    const slots = this.slots;
    this.offset += slots.length;
    let kept = 0;
    for (let index = this.head; index < slots.length; index++) {
      const item = slots[index];
      if (item === undefined) continue;
      item.queuePosition = this.offset + kept;
      slots[kept++] = item;
    }
    slots.length = kept;
    this.head = 0;
  }
}
