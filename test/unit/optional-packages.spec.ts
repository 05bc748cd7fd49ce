import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { MissingPackageError } from '../../lib/errors/missing-package.error';
import { SILENT_LOGGER } from '../../lib/utils/logger';
import { loadOptionalPackage, OPTIONAL_PACKAGES } from '../../lib/utils/optional-package';

/**
 * The optional peers (ioredis, typeorm, pg, PGlite, prom-client) are loaded by one helper, when
 * the part that needs them is configured; a missing one fails at start-up, naming the package
 * and the command that installs it. A package is made "not installed" here the way Node reports
 * it: `require` throws MODULE_NOT_FOUND with "Cannot find module '<name>'".
 */
function notInstalled(name: string): () => never {
  return () => {
    throw Object.assign(new Error(`Cannot find module '${name}'\nRequire stack:\n- ${__filename}`), { code: 'MODULE_NOT_FOUND' });
  };
}

/** Runs `body` with fresh copies of our modules, and the given packages missing. */
async function without<T>(names: readonly string[], body: () => Promise<T> | T): Promise<T> {
  let outcome!: Promise<T>;
  jest.isolateModules(() => {
    for (const name of names) jest.doMock(name, notInstalled(name));
    outcome = Promise.resolve().then(body);
  });
  try {
    return await outcome;
  } finally {
    for (const name of names) jest.dontMock(name);
  }
}

const MANIFEST = JSON.parse(readFileSync(join(__dirname, '..', '..', 'package.json'), 'utf8')) as {
  dependencies: Record<string, string>;
  devDependencies: Record<string, string>;
  peerDependencies: Record<string, string>;
  peerDependenciesMeta: Record<string, { optional?: boolean }>;
};

describe('optional peer dependencies', () => {
  it('are the optional peers of package.json (plus @nestjs/microservices, imported by its entry point only), each a dev dependency for our own tests', () => {
    const optionalPeers = Object.keys(MANIFEST.peerDependenciesMeta).filter((name) => MANIFEST.peerDependenciesMeta[name].optional);
    expect([...OPTIONAL_PACKAGES, '@nestjs/microservices'].sort()).toEqual(optionalPeers.sort());
    for (const name of optionalPeers) {
      expect(MANIFEST.peerDependencies[name]).toBeDefined();
      expect(MANIFEST.devDependencies[name]).toBeDefined();
      expect(MANIFEST.dependencies[name]).toBeUndefined();
    }
  });

  it('loads an installed package', () => {
    expect(loadOptionalPackage<typeof import('ioredis')>('ioredis', 'A test').Redis).toBeInstanceOf(Function);
  });

  it("loads pg without Node 20's undici, leaving no navigator behind (pg's Cloudflare check builds a fetch Response without one)", () => {
    // A process of its own: jest's sandbox has loaded undici already, and its globals are not Node's.
    const script = `
      const hadNavigator = 'navigator' in globalThis;
      const pg = require(${JSON.stringify(join(__dirname, '..', '..', 'dist', 'lib', 'utils', 'optional-package.js'))}).loadOptionalPackage('pg', 'a test');
      console.log(JSON.stringify({
        pool: typeof pg.Pool,
        navigatorAfter: 'navigator' in globalThis,
        hadNavigator,
        undici: process.moduleLoadList.some((name) => name.includes('undici')),
      }));`;
    const seen = JSON.parse(execFileSync(process.execPath, ['-e', script], { encoding: 'utf8' })) as Record<string, unknown>;
    expect(seen.pool).toBe('function');
    expect(seen.navigatorAfter).toBe(seen.hadNavigator);
    // Node 21+ has navigator, and pg never builds the Response there either.
    expect(seen.undici).toBe(false);
  });

  it('names a missing package, what needs it, and the install command', async () => {
    const error = await without(['ioredis'], () => {
      const { loadOptionalPackage: load } = require('../../lib/utils/optional-package') as typeof import('../../lib/utils/optional-package');
      return captured(() => load('ioredis', 'The redis:// broker'));
    });
    expect(error.name).toBe('MissingPackageError');
    expect(error.message).toBe(
      'The redis:// broker needs "ioredis", which is not installed. nestjs-celery leaves optional parts to the apps that use them ' +
        '(optional peer dependencies). Install it: npm install ioredis',
    );
  });

  it('lets through the error of an installed package that fails to load (its own missing dependency, say)', async () => {
    const error = await without([], () => {
      jest.doMock('prom-client', () => {
        throw Object.assign(new Error("Cannot find module 'tdigest'"), { code: 'MODULE_NOT_FOUND' });
      });
      const { loadOptionalPackage: load } = require('../../lib/utils/optional-package') as typeof import('../../lib/utils/optional-package');
      return captured(() => load('prom-client', 'Metrics'));
    });
    jest.dontMock('prom-client');
    expect(error.name).toBe('Error');
    expect(error.message).toBe("Cannot find module 'tdigest'");
  });

  describe('a configured part whose package is missing fails at start-up', () => {
    async function startUp(options: import('../../lib/runtime/celery-module-options').CeleryModuleOptions): Promise<Error> {
      const { createCeleryRuntime } = require('../../lib/runtime/create-celery-runtime') as typeof import('../../lib/runtime/create-celery-runtime');
      return createCeleryRuntime(options, { logger: SILENT_LOGGER }).then(
        async (runtime) => {
          await runtime.close();
          throw new Error('started without the package');
        },
        (error: Error) => error,
      );
    }

    it('a Redis broker without ioredis', async () => {
      const error = await without(['ioredis'], () => startUp({ broker: 'redis://127.0.0.1:6379/0' }));
      expect(error.message).toBe(new MissingPackageError(['ioredis'], 'The Redis broker (broker: redis://…)').message);
      expect(error.message).toContain('npm install ioredis');
    });

    it('an SQS broker without the AWS SDK', async () => {
      const error = await without(['@aws-sdk/client-sqs'], () => startUp({ broker: 'sqs://key:secret@127.0.0.1:1' }));
      expect(error.message).toBe(new MissingPackageError(['@aws-sdk/client-sqs'], 'The SQS broker (broker: sqs://…)').message);
      expect(error.message).toContain('npm install @aws-sdk/client-sqs');
      expect(error.message).not.toContain('secret');
    });

    it('a Redis result backend without ioredis', async () => {
      const error = await without(['ioredis'], () => startUp({ broker: 'memory://', backend: 'redis://127.0.0.1:6379/0' }));
      expect(error.message).toContain('The Redis result backend (backend: redis://…) needs "ioredis"');
    });

    it('a PostgreSQL result backend without TypeORM and node-postgres: both named at once', async () => {
      const error = await without(['typeorm', 'pg'], () => startUp({ broker: 'memory://', backend: 'postgresql://root@127.0.0.1:1/test' }));
      expect(error.message).toContain('The PostgreSQL result backend needs "typeorm" and "pg", which are not installed.');
      expect(error.message).toContain('npm install typeorm pg');
    });

    it('the embedded result backend without PGlite', async () => {
      const error = await without(['@electric-sql/pglite', 'typeorm-pglite'], () => startUp({ broker: 'memory://', backend: 'embedded://' }));
      expect(error.message).toContain('npm install @electric-sql/pglite typeorm-pglite');
    });

    it('metrics without prom-client', async () => {
      const error = await without(['prom-client'], () => startUp({ broker: 'memory://', metrics: true }));
      expect(error.message).toContain('Metrics (metrics: true) needs "prom-client"');
      expect(error.message).toContain('npm install prom-client');
    });

    it('the outbox without TypeORM', async () => {
      const error = await without(['typeorm', 'pg'], () => startUp({ broker: 'memory://', outbox: { url: 'postgresql://root@127.0.0.1:1/test' } }));
      expect(error.message).toContain('npm install typeorm pg');
    });

    it('tracing without @opentelemetry/api', async () => {
      const error = await without(['@opentelemetry/api'], () => startUp({ broker: 'memory://', tracing: true }));
      expect(error.message).toContain('Tracing (the tracing option) needs "@opentelemetry/api"');
      expect(error.message).toContain('npm install @opentelemetry/api');
    });

    it('and nothing is asked of an app that configures none of them', async () => {
      const error = await without([...OPTIONAL_PACKAGES], async () => {
        const { createCeleryRuntime } = require('../../lib/runtime/create-celery-runtime') as typeof import('../../lib/runtime/create-celery-runtime');
        const runtime = await createCeleryRuntime({ broker: 'memory://', backend: 'memory://' }, { logger: SILENT_LOGGER });
        await runtime.close();
        return null;
      });
      expect(error).toBeNull();
    });
  });
});

function captured(act: () => unknown): Error {
  try {
    act();
  } catch (error) {
    return error as Error;
  }
  throw new Error('no error');
}
