#!/usr/bin/env node
// Prints the spec files that run a Python Celery peer, one a line: those that import
// test/support/celery-peer.ts, directly or through other test modules (python-worker.ts,
// celery-cli.ts…). `npm test` runs exactly these a second time with CELERY_PEER=5.6, so a new
// interop test joins that pass by importing the support modules, with no list to keep.
const { readdirSync, readFileSync, existsSync } = require('node:fs');
const { dirname, join, relative, resolve } = require('node:path');

const root = resolve(__dirname, '..', '..');
const peerModule = join(root, 'test', 'support', 'celery-peer.ts');
const IMPORT = /(?:from\s+|import\s*\(\s*|require\(\s*)['"](\.{1,2}\/[^'"]+)['"]/g;

function filesUnder(directory) {
  return readdirSync(directory, { withFileTypes: true }).flatMap((entry) => {
    const path = join(directory, entry.name);
    return entry.isDirectory() ? filesUnder(path) : [path];
  });
}

function resolveImport(from, specifier) {
  const base = resolve(dirname(from), specifier);
  return [base, `${base}.ts`, `${base}.js`, join(base, 'index.ts')].find((candidate) => candidate.startsWith(join(root, 'test')) && existsSync(candidate) && !candidate.endsWith('/'));
}

const reaches = new Map();
function reachesPeer(file) {
  if (file === peerModule) return true;
  if (reaches.has(file)) return reaches.get(file);
  reaches.set(file, false); // a cycle does not reach it through itself
  const source = readFileSync(file, 'utf8');
  const found = [...source.matchAll(IMPORT)].some(([, specifier]) => {
    const target = resolveImport(file, specifier);
    return target !== undefined && reachesPeer(target);
  });
  reaches.set(file, found);
  return found;
}

const specs = filesUnder(join(root, 'test'))
  .filter((file) => file.endsWith('.spec.ts') && reachesPeer(file))
  .map((file) => relative(root, file))
  .sort();
if (specs.length === 0) throw new Error('No spec file imports test/support/celery-peer.ts: the Celery 5.6 pass would run nothing.');
process.stdout.write(`${specs.join('\n')}\n`);
