/**
 * The app's logical clock (Celery's `app.clock`, kombu's `LamportClock`): every remote-control
 * request and reply carries it in a `clock` header, and receivers move theirs past it, so events
 * across workers can be ordered without synchronised wall clocks. One instance per app, shared by
 * everything that sends or receives clock values.
 */
export class LamportClock {
  constructor(private current = 0) {}

  get value(): number {
    return this.current;
  }

  /** Ticks for an event of our own (a message sent); returns the new value. */
  forward(): number {
    return ++this.current;
  }

  /** Moves past a value received from another node (`max(ours, theirs) + 1`); returns the new value. */
  adjust(other: number): number {
    this.current = Math.max(this.current, other) + 1;
    return this.current;
  }
}
