import type { Stamps } from '../protocol/stamps';

/**
 * The stamps this worker must not run (Celery's `worker.state.revoked_stamps`, filled by the
 * `revoke_by_stamped_headers` control command): per stamp name, the revoked values. Like
 * Celery's, it lives in memory only, unbounded by size or age.
 */
export class RevokedStamps {
  private readonly revoked = new Map<string, unknown[]>();

  /** Adds revoked values, `{name: value or [values]}`; earlier ones stay (Celery appends). */
  add(headers: Stamps): void {
    for (const [name, values] of Object.entries(headers)) {
      this.revoked.set(name, [...(this.revoked.get(name) ?? []), ...asList(values)]);
    }
  }

  get size(): number {
    return this.revoked.size;
  }

  /**
   * The stamp that revokes a message with these stamps, or null. As Celery's `Request.revoked`:
   * the first of the message's stamps that has revoked values decides; a list stamp matches when
   * any of its values is revoked.
   */
  match(stamps: Stamps): Stamps | null {
    if (this.revoked.size === 0) return null;
    for (const [name, stamped] of Object.entries(stamps)) {
      const revoked = this.revoked.get(name);
      if (!revoked) continue;
      const hit = asList(stamped).find((value) => revoked.some((candidate) => sameValue(candidate, value)));
      return hit === undefined ? null : { [name]: hit };
    }
    return null;
  }
}

/** Celery's `maybe_list`. */
function asList(value: unknown): unknown[] {
  return Array.isArray(value) ? value : [value];
}

function sameValue(a: unknown, b: unknown): boolean {
  return a === b || (typeof a === 'object' && typeof b === 'object' && JSON.stringify(a) === JSON.stringify(b));
}
