/**
 * The keys an options object may have, listed once beside its interface: `optionKeys<WorkerModuleOptions>()('queues', …)`.
 * Leaving a key of the interface out fails to compile, so the list cannot drift from the type.
 */
export function optionKeys<T>() {
  return <const K extends readonly (keyof T & string)[]>(
    ...keys: K & ([Exclude<keyof T, K[number]>] extends [never] ? unknown : { missingKeys: Exclude<keyof T, K[number]> })
  ): readonly string[] => keys;
}

/**
 * One problem line per key of `value` that is not in `known`, naming the nearest known key when
 * one is close (a typo): `worker.concurency is not an option: did you mean worker.concurrency?`.
 */
export function unknownKeyProblems(value: object, known: readonly string[], path: string): string[] {
  const problems: string[] = [];
  for (const key of Object.keys(value)) {
    if (known.includes(key)) continue;
    const name = path ? `${path}.${key}` : key;
    const nearest = nearestKey(key, known);
    const hint = nearest ? `did you mean ${path ? `${path}.` : ''}${nearest}?` : `known options: ${known.join(', ')}`;
    problems.push(`${name} is not an option: ${hint}`);
  }
  return problems;
}

/** The known key closest to `key` when it is close enough to be a typo or a different spelling (brokerUrl → broker). */
function nearestKey(key: string, known: readonly string[]): string | null {
  const lower = key.toLowerCase();
  let best: string | null = null;
  let bestDistance = Number.POSITIVE_INFINITY;
  for (const candidate of known) {
    const other = candidate.toLowerCase();
    // A known key inside the unknown one or the other way round (`brokerUrl` → `broker`, `cert` →
    // `certificate`) is as good as a one-letter typo; the closer length wins among several.
    const contains = Math.min(lower.length, other.length) >= 3 && (lower.includes(other) || other.includes(lower));
    const distance = contains ? 1 + Math.abs(lower.length - other.length) / 100 : editDistance(lower, other);
    if (distance < bestDistance) {
      bestDistance = distance;
      best = candidate;
    }
  }
  return best !== null && bestDistance <= Math.max(2, Math.floor(key.length / 3)) ? best : null;
}

/** Levenshtein distance. */
function editDistance(a: string, b: string): number {
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j] + 1, current[j - 1] + 1, previous[j - 1] + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length];
}
