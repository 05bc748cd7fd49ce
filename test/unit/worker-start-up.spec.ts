import { execFileSync } from 'node:child_process';
import { mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

/**
 * What the worker CLI does before loading the app (bin/worker-start-up.js), each in a process of
 * its own: the code cache must give the same module behaviour as Node's own compiling, from a
 * cold and a warm cache and after a file changed; @nestjs/microservices stays unloaded until a
 * NestApplication needs it.
 */
const ROOT = join(__dirname, '..', '..');
const START_UP = join(ROOT, 'bin', 'worker-start-up.js');
const NODE_ENGINES_HAS_OWN_CACHE = typeof (require('node:module') as { enableCompileCache?: unknown }).enableCompileCache === 'function';

function run(script: string, env: NodeJS.ProcessEnv = {}): string {
  return execFileSync(process.execPath, ['-e', script], { cwd: ROOT, encoding: 'utf8', env: { ...process.env, ...env } });
}

describe('worker CLI start-up', () => {
  let temporary: string;
  beforeEach(() => (temporary = mkdtempSync(join(tmpdir(), 'worker-start-up-'))));
  afterEach(() => rmSync(temporary, { recursive: true, force: true }));

  (NODE_ENGINES_HAS_OWN_CACHE ? it.skip : it)('the code cache runs modules as Node does, cold, warm and after a change of the same length', () => {
    const app = join(temporary, 'app');
    require('node:fs').mkdirSync(app);
    // helper.js goes through the cache; it checks what a module gets from its wrapper: exports,
    // require (and its resolve, cache), module, __filename, __dirname. main.js calls import(), so Node compiles it.
    const helper = (value: string) =>
      `exports.value = '${value}';\n` +
      "exports.wrapper = [require.resolve('./main') === __dirname + '/main.js', require.cache[__filename] === module, this === exports, require('node:path').basename(__filename)].join(' ');\n";
    writeFileSync(join(app, 'helper.js'), helper('one'));
    writeFileSync(join(app, 'main.js'), "const helper = require('./helper');\nmodule.exports = async () => [helper.value, helper.wrapper, (await import('node:path')).basename(__filename)].join(' ');\n");
    const script = `
      const save = require(${JSON.stringify(START_UP)}).enableCompileCache();
      require(${JSON.stringify(join(app, 'main.js'))})().then((line) => { save(); process.stdout.write(line); });
    `;
    const cacheDirectory = () => join(temporary, readdirSync(temporary).find((name) => name.startsWith('nestjs-celery-worker-compile-cache-'))!);
    const env = { TMPDIR: temporary, NODE_DISABLE_COMPILE_CACHE: '' };

    expect(run(script, env)).toBe('one true true true helper.js main.js');
    const [cacheFile] = readdirSync(cacheDirectory());
    expect(cacheFile).toMatch(/^v8-.*\.bin$/);
    expect(statSync(cacheDirectory()).mode & 0o777).toBe(0o700);
    const written = statSync(join(cacheDirectory(), cacheFile)).mtimeMs;

    // Warm: every module's cached code is taken, so nothing is written again.
    expect(run(script, env)).toBe('one true true true helper.js main.js');
    expect(statSync(join(cacheDirectory(), cacheFile)).mtimeMs).toBe(written);

    // Same length, other content: V8 alone would accept the old code; the CRC-32 must not.
    writeFileSync(join(app, 'helper.js'), helper('two'));
    expect(run(script, env)).toBe('two true true true helper.js main.js');
  });

  it('NODE_DISABLE_COMPILE_CACHE turns the cache off', () => {
    run(`require(${JSON.stringify(START_UP)}).enableCompileCache()();`, { TMPDIR: temporary, NODE_DISABLE_COMPILE_CACHE: '1' });
    expect(readdirSync(temporary)).toEqual([]);
  });

  it('an application context does not load @nestjs/microservices; without the CLI hook, @nestjs/core does', () => {
    const script = (hooked: boolean) => `
      ${hooked ? `require(${JSON.stringify(START_UP)}).deferNestMicroservices();` : ''}
      require('reflect-metadata');
      const { Module } = require('@nestjs/common');
      const { NestFactory } = require('@nestjs/core');
      class Empty {}
      Module({})(Empty);
      NestFactory.createApplicationContext(Empty, { logger: false }).then(async (app) => {
        await app.close();
        process.stdout.write(String(Object.keys(require.cache).filter((file) => file.includes('/@nestjs/microservices/')).length));
      });
    `;
    expect(Number(run(script(true)))).toBe(0);
    expect(Number(run(script(false)))).toBeGreaterThan(0);
  });

  it('a NestApplication still gets its MicroservicesModule with the hook', () => {
    const script = `
      require(${JSON.stringify(START_UP)}).deferNestMicroservices();
      require('reflect-metadata');
      const { NestApplication } = require('@nestjs/core/nest-application');
      const { NestContainer } = require('@nestjs/core');
      const { ApplicationConfig } = require('@nestjs/core/application-config');
      const httpAdapter = { getInstance: () => ({}), initHttpServer() {}, getHttpServer: () => ({}), setOnRequestHook() {}, setOnResponseHook() {} };
      const app = new NestApplication(new NestContainer(), httpAdapter, new ApplicationConfig(), { __graphInspector: undefined }, {});
      process.stdout.write(app.microservicesModule && app.microservicesModule.constructor.name);
    `;
    expect(run(script)).toBe('MicroservicesModule');
  });
});
