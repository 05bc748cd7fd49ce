'use strict';
/*
 * What a package costs an app, read from the app's package-lock.json and node_modules: the
 * packages reachable from some of its dependencies (npm's resolution: node_modules up the tree;
 * dependencies, optional dependencies and non-optional peers), their installed bytes, and the time
 * to require a module. Used by consumer-matrix.spec.ts, and by hand on any installed app:
 *
 *   node test/consumers/footprint.js <app dir> <package>   # what <package> adds to the app's other dependencies
 */
const { execFileSync } = require('node:child_process');
const { existsSync, readdirSync, readFileSync, statSync } = require('node:fs');
const { join } = require('node:path');

/** The lock's packages (path → entry) of an installed app. */
function readLock(appDir) {
  return JSON.parse(readFileSync(join(appDir, 'package-lock.json'), 'utf8')).packages;
}

/** `node_modules/a/node_modules/@s/b` → `node_modules/a`; top-level packages → '' (the app). */
function parentOf(path) {
  const at = path.lastIndexOf('/node_modules/');
  return at < 0 ? '' : path.slice(0, at);
}

/** Where `name` required from the package at `from` is found, as Node finds it; null when nowhere. */
function resolve(packages, from, name) {
  for (let dir = from; ; dir = parentOf(dir)) {
    const candidate = `${dir ? `${dir}/` : ''}node_modules/${name}`;
    if (packages[candidate]) return candidate;
    if (!dir) return null;
  }
}

/** Lock paths of every package installed because of `roots` (dependency names of the app). */
function reachable(packages, roots) {
  const seen = new Set();
  const visit = (from, name) => {
    const path = resolve(packages, from, name);
    if (path === null || seen.has(path)) return;
    seen.add(path);
    const entry = packages[path];
    const optionalPeers = entry.peerDependenciesMeta ?? {};
    const names = [
      ...Object.keys(entry.dependencies ?? {}),
      ...Object.keys(entry.optionalDependencies ?? {}),
      ...Object.keys(entry.peerDependencies ?? {}).filter((peer) => !optionalPeers[peer]?.optional),
    ];
    for (const next of names) visit(path, next);
  };
  for (const name of roots) visit('', name);
  return seen;
}

/** Bytes of the files of one installed package (its nested node_modules are packages of their own). */
function packageBytes(directory) {
  let total = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    if (entry.name === 'node_modules' && entry.isDirectory()) continue;
    const path = join(directory, entry.name);
    if (entry.isDirectory()) total += packageBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

/** What adding `added` to the app's dependencies `base` costs: packages and installed bytes. */
function footprint(appDir, base, added) {
  const packages = readLock(appDir);
  // The lock lists optional packages for other platforms too (esbuild's, msgpackr's…): count the installed ones.
  const installed = (paths) => new Set([...paths].filter((path) => existsSync(join(appDir, path))));
  const before = installed(reachable(packages, base));
  const after = installed(reachable(packages, [...base, ...added]));
  const extra = [...after].filter((path) => !before.has(path));
  const bytes = (paths) => paths.reduce((sum, path) => sum + packageBytes(join(appDir, path)), 0);
  return {
    basePackages: before.size,
    addedPackages: extra.length,
    added: extra.map((path) => path.replace(/^.*node_modules\//, '')).sort(),
    baseBytes: bytes([...before]),
    addedBytes: bytes(extra),
  };
}

/**
 * Milliseconds to `require(module)` in a fresh process of the app, after Nest (@nestjs/common and
 * @nestjs/core, which the app loads anyway); the median of `runs`. Also the total with Nest.
 */
function requireTime(appDir, module, runs = 5) {
  const script = `
    const ms = (from) => Number(process.hrtime.bigint() - from) / 1e6;
    const start = process.hrtime.bigint();
    require('@nestjs/common'); require('@nestjs/core');
    const nestMs = ms(start);
    const own = process.hrtime.bigint();
    require(${JSON.stringify(module)});
    process.stdout.write(JSON.stringify({ moduleMs: ms(own), totalMs: ms(start), nestMs }));
  `;
  const samples = Array.from({ length: runs }, () => JSON.parse(execFileSync(process.execPath, ['-e', script], { cwd: appDir, encoding: 'utf8' })));
  const median = (key) => samples.map((sample) => sample[key]).sort((a, b) => a - b)[Math.floor(runs / 2)];
  return { moduleMs: Math.round(median('moduleMs')), totalMs: Math.round(median('totalMs')), nestMs: Math.round(median('nestMs')) };
}

module.exports = { footprint, requireTime, reachable, readLock };

if (require.main === module) {
  const [appDir, name] = process.argv.slice(2);
  if (!appDir || !name) {
    console.error('Usage: node test/consumers/footprint.js <app dir> <package>');
    process.exit(2);
  }
  const root = JSON.parse(readFileSync(join(appDir, 'package.json'), 'utf8'));
  const base = Object.keys(root.dependencies ?? {}).filter((dependency) => dependency !== name);
  const result = footprint(appDir, base, [name]);
  const mb = (bytes) => (bytes / 1e6).toFixed(1);
  console.log(`${name} adds ${result.addedPackages} packages (${mb(result.addedBytes)} MB) to ${result.basePackages} (${mb(result.baseBytes)} MB): ${result.added.join(', ')}`);
  console.log(`require('${name}'):`, requireTime(appDir, name));
}
