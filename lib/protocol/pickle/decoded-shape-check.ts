import { MAX_NESTING_DEPTH } from './pickle-limits';
import { PickledAsyncResult, PickledGroupResult } from './python-objects';

/**
 * The last check of a decoded pickle, before anyone walks it. Through its memo a pickle can make
 * a list contain itself, or reuse one list many times; Python copes, but JSON.stringify, our
 * encoder or user code would recurse forever or expand it to billions of items. This walks the
 * value iteratively (so it cannot overflow the stack itself) and refuses values that are
 * recursive, nested deeper than MAX_NESTING_DEPTH, or bigger than `maxItems` once expanded.
 *
 * `reusedContainers` are those the decoder handed out more than once (memo gets, DUP). Only they
 * can close a cycle or be shared, so only they are remembered; everything else is a plain tree
 * and is walked once without bookkeeping, which keeps the common case cheap.
 */
export function checkDecodedShape(
  root: unknown,
  maxItems: number,
  reusedContainers: ReadonlySet<object>,
  fail: (problem: string) => never,
): void {
  const rootChildren = childrenOf(root);
  if (!rootChildren) return;
  const measured = new Map<object, Measure>();
  const open = new Set<object>();
  const frames: Frame[] = [];

  const enter = (node: object, children: readonly unknown[]): void => {
    if (frames.length + 1 > MAX_NESTING_DEPTH) failTooDeep(fail);
    if (reusedContainers.has(node)) open.add(node);
    frames.push({ node, children, next: 0, depth: 0, items: 0 });
  };
  const absorb = (frame: Frame, child: Measure): void => {
    frame.depth = Math.max(frame.depth, child.depth);
    frame.items += child.items;
    if (frame.items > maxItems) fail(`the value holds more than ${maxItems} items once shared references are expanded`);
  };

  enter(root as object, rootChildren);
  while (frames.length > 0) {
    const frame = frames[frames.length - 1];
    if (frame.next < frame.children.length) {
      const child = frame.children[frame.next++];
      const grandChildren = childrenOf(child);
      if (!grandChildren) {
        absorb(frame, LEAF);
        continue;
      }
      const known = measured.get(child as object);
      if (known) {
        if (frames.length + known.depth > MAX_NESTING_DEPTH) failTooDeep(fail);
        absorb(frame, known);
        continue;
      }
      if (open.has(child as object)) fail('a container contains itself (a recursive structure)');
      enter(child as object, grandChildren);
      continue;
    }
    frames.pop();
    const result = { depth: frame.depth + 1, items: frame.items + 1 };
    if (reusedContainers.has(frame.node)) {
      open.delete(frame.node);
      measured.set(frame.node, result);
    }
    if (frames.length > 0) absorb(frames[frames.length - 1], result);
  }
}

interface Measure {
  /** Containers on the longest path down from this one, itself included (0 for a leaf). */
  depth: number;
  /** This value and everything under it, shared references counted at each place they appear. */
  items: number;
}

interface Frame extends Measure {
  node: object;
  children: readonly unknown[];
  next: number;
}

const LEAF: Measure = { depth: 0, items: 1 };

function failTooDeep(fail: (problem: string) => never): never {
  return fail(`containers are nested more than ${MAX_NESTING_DEPTH} levels deep`);
}

/** What a decoded container holds; null for leaves (strings, numbers, Buffers, Dates…). */
function childrenOf(value: unknown): readonly unknown[] | null {
  if (typeof value !== 'object' || value === null) return null;
  if (Array.isArray(value)) return value;
  if (value instanceof PickledGroupResult) return value.results;
  if (value instanceof PickledAsyncResult) return value.parent ? [value.parent] : [];
  if (Object.getPrototypeOf(value) === Object.prototype) return Object.values(value); // a decoded dict
  return null;
}
