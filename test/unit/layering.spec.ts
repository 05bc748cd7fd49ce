import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, normalize, relative, sep } from 'node:path';

/**
 * Dependencies point downward only (STYLE.md: Nest glue → runtime → client/worker → protocol +
 * broker/backend). Each folder of lib/ sits in a layer; a file may import its own folder and any
 * folder of a lower layer, never one above, and within a layer only the pairs listed. Type-only
 * imports count too: a type from above is a dependency on above.
 */
const LAYERS: readonly (readonly string[])[] = [
  // Foundation: the wire format and what everything uses.
  ['utils', 'errors', 'protocol'],
  ['broker', 'security'],
  ['backend'],
  // Shared by producers and workers: task definitions, events, the remote-control wire and client.
  ['task', 'events', 'control', 'tracing'],
  // Peers: neither imports the other.
  ['client', 'worker'],
  // Built on both sides.
  ['workflow', 'remote-control', 'metrics', 'monitoring', 'alerts', 'outbox'],
  // The one composition root.
  ['runtime'],
  // Nest glue: lib/*.ts and the Nest-facing folders; `advanced` and `typeorm` are entry points only.
  ['(root)', 'decorators', 'invocation', 'microservice', 'dashboard', 'health', 'interfaces', 'testing', 'advanced', 'typeorm'],
];

/** Same-layer imports allowed (from → to); in the foundation and the Nest glue any is. */
const SAME_LAYER_ALLOWED = new Set(['alerts → monitoring']);
const FREE_LAYERS = new Set([0, LAYERS.length - 1]);

const LIB = join(__dirname, '..', '..', 'lib');
const layerOf = new Map(LAYERS.flatMap((folders, index) => folders.map((folder) => [folder, index] as const)));

function libFiles(directory: string): string[] {
  return readdirSync(directory).flatMap((name) => {
    const path = join(directory, name);
    if (statSync(path).isDirectory()) return name === 'static' ? [] : libFiles(path);
    return name.endsWith('.ts') ? [path] : [];
  });
}

/** `lib/worker/x.ts` → `worker`; `lib/celery.module.ts` → `(root)`. */
function folderOf(path: string): string {
  const parts = relative(LIB, path).split(sep);
  return parts.length > 1 ? parts[0] : '(root)';
}

function importsOf(file: string): string[] {
  const source = readFileSync(file, 'utf8');
  return [...source.matchAll(/(?:from|import)\s+'(\.{1,2}\/[^']+)'/g)].map((match) => normalize(join(dirname(file), match[1])));
}

describe('the layers of lib/', () => {
  const files = libFiles(LIB);

  it('knows every folder', () => {
    const unknown = [...new Set(files.map(folderOf))].filter((folder) => !layerOf.has(folder));
    expect(unknown).toEqual([]);
  });

  it('has no import that points upward or sideways', () => {
    const violations: string[] = [];
    for (const file of files) {
      const from = folderOf(file);
      for (const target of importsOf(file)) {
        const to = folderOf(target);
        if (to === from) continue;
        const [fromLayer, toLayer] = [layerOf.get(from)!, layerOf.get(to)!];
        const sideways = fromLayer === toLayer && !FREE_LAYERS.has(fromLayer) && !SAME_LAYER_ALLOWED.has(`${from} → ${to}`);
        if (toLayer > fromLayer || sideways) violations.push(`${relative(LIB, file)} imports ${relative(LIB, target)} (${from} → ${to})`);
      }
    }
    expect(violations).toEqual([]);
  });
});
