#!/usr/bin/env node
'use strict';
/*
 * Builds what `npm pack` ships (run by `prepack`; the consumer matrix runs it into a staging
 * directory): lib/ compiled into <out>/dist/lib, the dashboard's static page beside its code, and
 * Chart.js's UMD build with its MIT licence, so the package needs no chart.js dependency.
 *
 * No source maps: a map without the sources it names only sends debuggers and bundlers looking
 * for files that are not there, and the compiled ES2022 reads close to the TypeScript anyway.
 * `npm run build` (the sample app, the tests) keeps its maps.
 *
 * Usage: node scripts/build-package.js [out]   (out defaults to the repository root)
 */
const { execFileSync } = require('node:child_process');
const { cpSync, copyFileSync, mkdirSync, rmSync } = require('node:fs');
const { dirname, join, resolve } = require('node:path');

const root = resolve(__dirname, '..');
const out = resolve(process.argv[2] ?? root);
const libOut = join(out, 'dist', 'lib');

rmSync(libOut, { recursive: true, force: true });
execFileSync(process.execPath, [require.resolve('typescript/bin/tsc', { paths: [root] }), '-p', join(root, 'tsconfig.package.json'), '--outDir', join(out, 'dist')], {
  cwd: root,
  stdio: 'inherit',
});

const staticOut = join(libOut, 'dashboard', 'static');
cpSync(join(root, 'lib', 'dashboard', 'static'), staticOut, { recursive: true });
const chartDist = dirname(require.resolve('chart.js', { paths: [root] }));
mkdirSync(staticOut, { recursive: true });
copyFileSync(join(chartDist, 'chart.umd.js'), join(staticOut, 'chart.umd.js'));
copyFileSync(join(chartDist, '..', 'LICENSE.md'), join(staticOut, 'chart.js-LICENSE.md'));
