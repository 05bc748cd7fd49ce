// Compiles lib/ and sample-app/ to dist/ once per test run, before any test file starts, so
// tests that run the real sample-app processes (worker crash, SIGTERM) share one build.
const { execFileSync } = require('node:child_process');
const { join } = require('node:path');

module.exports = async () => {
  const root = join(__dirname, '..', '..');
  execFileSync(process.execPath, [join(root, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', join(root, 'tsconfig.build.json')], { stdio: 'inherit' });
};
