import { InFlightQueue } from '../../lib/utils/in-flight-queue';

class Item {
  queuePosition = -1;
  constructor(readonly id: number) {}
}

const ids = (queue: InFlightQueue<Item>) => queue.values().map((item) => item.id);

describe('InFlightQueue (unconfirmed publishes in order, without a Set)', () => {
  it('keeps the order of adds through deletes anywhere', () => {
    const queue = new InFlightQueue<Item>();
    const items = [1, 2, 3, 4, 5].map((id) => new Item(id));
    for (const item of items) queue.add(item);
    expect(queue.delete(items[2])).toBe(true);
    expect(queue.delete(items[0])).toBe(true);
    expect(ids(queue)).toEqual([2, 4, 5]);
    expect(queue.first()).toBe(items[1]);
    expect(queue.size).toBe(3);
  });

  it('says false for an item deleted already or held by another queue, changing nothing', () => {
    const waiting = new InFlightQueue<Item>();
    const sent = new InFlightQueue<Item>();
    const [a, b] = [new Item(1), new Item(2)];
    waiting.add(a);
    sent.add(b); // the same position as a, in another queue
    expect(waiting.delete(b)).toBe(false);
    expect(sent.delete(a)).toBe(false);
    expect(waiting.delete(a)).toBe(true);
    expect(waiting.delete(a)).toBe(false);
    expect(ids(sent)).toEqual([2]);
    expect(a.queuePosition).toBe(-1);
  });

  it('finds the oldest match and is emptied by clear(), after which items can be added again', () => {
    const queue = new InFlightQueue<Item>();
    const items = [1, 2, 3, 4].map((id) => new Item(id));
    for (const item of items) queue.add(item);
    expect(queue.find((item) => item.id % 2 === 0)).toBe(items[1]);
    expect(queue.find((item) => item.id > 9)).toBeUndefined();
    queue.clear();
    expect(queue.size).toBe(0);
    expect(queue.first()).toBeUndefined();
    expect(items.every((item) => item.queuePosition === -1)).toBe(true);
    queue.add(items[3]);
    queue.add(items[0]);
    expect(ids(queue)).toEqual([4, 1]);
  });

  it('survives churn like a publisher\'s: confirms mostly in order, some late, across compactions', () => {
    const queue = new InFlightQueue<Item>();
    const live: Item[] = [];
    for (let id = 0; id < 20_000; id++) {
      const item = new Item(id);
      queue.add(item);
      live.push(item);
      // Every 50th confirm comes late: it stays behind while younger ones are confirmed.
      if (live.length > 100) expect(queue.delete(live.splice(id % 50 === 0 ? 1 : 0, 1)[0])).toBe(true);
    }
    expect(queue.size).toBe(live.length);
    expect(ids(queue)).toEqual(live.map((item) => item.id));
    for (const item of [...live].reverse()) expect(queue.delete(item)).toBe(true);
    expect(queue.size).toBe(0);
    expect(queue.values()).toEqual([]);
  });

  it('stays right when one old item stays while thousands behind it come and go', () => {
    const queue = new InFlightQueue<Item>();
    const stuck = new Item(-1);
    queue.add(stuck);
    let previous: Item | undefined;
    for (let id = 0; id < 10_000; id++) {
      const item = new Item(id);
      queue.add(item);
      // Each is deleted after the next one came: deletes behind the head, across rebuilds of the array.
      if (previous) expect(queue.delete(previous)).toBe(true);
      previous = item;
    }
    expect(ids(queue)).toEqual([-1, 9_999]);
    expect(queue.first()).toBe(stuck);
    expect(queue.delete(previous!)).toBe(true);
    expect(queue.delete(stuck)).toBe(true);
    expect(queue.size).toBe(0);
  });
});
