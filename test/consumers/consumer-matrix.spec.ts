import { ChildProcess, execFile, spawn } from 'node:child_process';
import { cpSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';

import { footprint, requireTime } from './footprint';

/**
 * The package as users get it: built and packed as `npm pack` does, then installed from the
 * tarball into fresh apps shaped as `nest new` makes them (apps/*: package.json and tsconfig.json;
 * app-src/: the same few files in each), next to @nestjs/typeorm and the app's own TypeORM. Each
 * app must install with exactly one @nestjs/core, @nestjs/common and typeorm, compile under strict
 * tsc, refuse a part whose optional package it lacks (Redis) with the command to install it, and, on
 * real RabbitMQ and PostgreSQL, send tasks from its HTTP app to a worker process of
 * its own, with results stored through the app's DataSource (the README's @nestjs/typeorm recipe).
 *
 * npm downloads come from npm's own cache when it has them (--prefer-offline); CONSUMERS_KEEP=1
 * keeps the apps (the path is printed) for a look after a failure.
 */
const ROOT = join(__dirname, '..', '..');
const APPS = ['nest10-typeorm03', 'nest11-typeorm03', 'nest11-typeorm1', 'nest12-typeorm1'] as const;
type AppName = (typeof APPS)[number];

const execFileAsync = promisify(execFile);
const work = mkdtempSync(join(tmpdir(), 'nestjs-celery-consumers-'));
const appDir = (name: string) => join(work, name);
const installs = new Map<string, Promise<void>>();

/** npm without the settings of the npm that may be running these tests (`npm test` exports npm_config_*). */
function npmEnvironment(): NodeJS.ProcessEnv {
  return Object.fromEntries(Object.entries(process.env).filter(([key]) => !/^npm_/i.test(key)));
}

async function run(command: string, args: string[], cwd: string, env: NodeJS.ProcessEnv = npmEnvironment()): Promise<string> {
  try {
    const { stdout } = await execFileAsync(command, args, { cwd, env, maxBuffer: 64 * 1024 * 1024 });
    return stdout;
  } catch (error) {
    const { stdout, stderr } = error as { stdout?: string; stderr?: string };
    throw new Error(`${command} ${args.join(' ')} failed in ${cwd}:\n${stderr || stdout || (error as Error).message}`);
  }
}

const npmInstall = (cwd: string) => run('npm', ['install', '--prefer-offline', '--no-audit', '--no-fund', '--loglevel=error'], cwd);

/** Builds the package as prepack does, into a directory of its own (dist/ of the checkout is the tests'), and packs it. */
async function pack(): Promise<string> {
  const stage = join(work, 'package');
  await run(process.execPath, [join(ROOT, 'scripts', 'build-package.js'), stage], ROOT);
  for (const file of ['package.json', 'README.md', 'LICENSE', 'CHANGELOG.md', 'bin', 'docs']) cpSync(join(ROOT, file), join(stage, file), { recursive: true });
  const [{ filename }] = JSON.parse(await run('npm', ['pack', '--json', '--ignore-scripts', '--pack-destination', work], stage)) as { filename: string }[];
  cpSync(join(work, filename), join(work, 'nestjs-celery.tgz'));
  return join(work, 'nestjs-celery.tgz');
}

/** A fresh app: its package.json and tsconfig.json from apps/<name>, the shared sources, then `npm install` (nestjs-celery from ../nestjs-celery.tgz). */
function createApp(name: AppName): Promise<void> {
  const dir = appDir(name);
  cpSync(join(__dirname, 'apps', name), dir, { recursive: true });
  cpSync(join(__dirname, 'app-src'), join(dir, 'src'), { recursive: true });
  return npmInstall(dir).then(() => undefined);
}

/** An app for the footprint only: a fresh Nest 11 app (`nest new`'s dependencies) with nestjs-celery + typeorm + pg, and @nestjs/bullmq + bullmq, to compare. */
const FOOTPRINT_APP = {
  base: ['@nestjs/common', '@nestjs/core', '@nestjs/platform-express', 'reflect-metadata', 'rxjs'],
  dependencies: {
    '@nestjs/common': '^11.0.1',
    '@nestjs/core': '^11.0.1',
    '@nestjs/platform-express': '^11.0.1',
    'reflect-metadata': '^0.2.2',
    rxjs: '^7.8.1',
    'nestjs-celery': 'file:../nestjs-celery.tgz',
    typeorm: '^1.0.0',
    pg: '^8.11.0',
    '@nestjs/bullmq': '^11.0.0',
    bullmq: '^5.0.0',
  },
};

function createFootprintApp(): Promise<void> {
  const dir = appDir('footprint');
  mkdirSync(dir);
  writeFileSync(join(dir, 'package.json'), JSON.stringify({ name: 'consumer-footprint', private: true, dependencies: FOOTPRINT_APP.dependencies }, null, 2));
  return npmInstall(dir).then(() => undefined);
}

beforeAll(async () => {
  await pack();
  for (const name of APPS) installs.set(name, createApp(name));
  installs.set('footprint', createFootprintApp());
  // Awaited by each test; a failed install fails that app's tests only.
  for (const install of installs.values()) install.catch(() => undefined);
}, 300_000);

afterAll(() => {
  if (process.env.CONSUMERS_KEEP) console.log(`consumer apps kept in ${work}`);
  else rmSync(work, { recursive: true, force: true });
});

describe.each(APPS)('the packed package in a fresh %s app', (name) => {
  const dir = appDir(name);
  let env: TestEnvironment | undefined;
  const children = new Set<ChildProcess>();

  afterAll(async () => {
    for (const child of children) child.kill('SIGKILL');
    await env?.dispose();
  });

  it('installs with one @nestjs/core, one @nestjs/common and one typeorm (the app\'s)', async () => {
    await installs.get(name);
    // `npm ls` also fails on a peer range the tree does not satisfy.
    const paths = (await run('npm', ['ls', '@nestjs/core', '@nestjs/common', 'typeorm', '--all', '--parseable'], dir)).split('\n').filter(Boolean);
    expect([...new Set(paths)].map((path) => path.slice(dir.length + 1)).sort()).toEqual(['node_modules/@nestjs/common', 'node_modules/@nestjs/core', 'node_modules/typeorm']);
  }, 300_000);

  it('compiles under strict tsc', async () => {
    await installs.get(name);
    await run(process.execPath, [join(dir, 'node_modules', 'typescript', 'bin', 'tsc'), '-p', 'tsconfig.json'], dir);
  }, 120_000);

  it('fails at start-up when Redis is configured without ioredis, naming the package and the install command', async () => {
    await installs.get(name);
    const output = await run(process.execPath, ['dist/missing-package.js'], dir);
    expect(output.trim()).toBe(
      'MissingPackageError: The Redis broker (broker: redis://…) needs "ioredis", which is not installed. nestjs-celery leaves ' +
        'optional parts to the apps that use them (optional peer dependencies). Install it: npm install ioredis',
    );
  }, 60_000);

  it('sends tasks from its HTTP app to its worker process, results through its own DataSource, on RabbitMQ and PostgreSQL', async () => {
    await installs.get(name);
    env = await createTestEnvironment(`consumer-${name}`);
    const settings = { ...npmEnvironment(), BROKER_URL: RABBITMQ_URL, DATABASE_URL: env.databaseUrl, QUEUE: env.queue };
    const worker = spawn(process.execPath, ['dist/worker.js'], { cwd: dir, env: settings, stdio: ['ignore', 'pipe', 'pipe'] });
    children.add(worker);
    let workerOutput = '';
    const workerExit = new Promise<string>((resolve) => worker.on('exit', (code, signal) => resolve(signal ?? String(code))));
    await new Promise<void>((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`The worker did not start within 60 s:\n${workerOutput}`)), 60_000);
      const read = (chunk: Buffer) => {
        workerOutput += chunk.toString();
        if (workerOutput.includes('worker ready: true')) {
          clearTimeout(timer);
          resolve();
        }
      };
      worker.stdout!.on('data', read);
      worker.stderr!.on('data', read);
      void workerExit.then((how) => reject(new Error(`The worker ended (${how}) before it was ready:\n${workerOutput}`)));
    });

    const sent = JSON.parse((await run(process.execPath, ['dist/send.js'], dir, { ...settings, CONSUMER_ROLE: 'producer' })).trim().split('\n').pop()!);
    expect(sent).toEqual({
      value: { sum: 5, pid: worker.pid, taskId: sent.taskId },
      doubled: 42,
      taskId: expect.any(String),
      senderPid: expect.any(Number),
      stored: 'SUCCESS',
      backend: "the application's DataSource (postgres)",
    });
    expect(sent.senderPid).not.toBe(worker.pid);

    worker.kill('SIGTERM');
    // Nest's shutdown hooks end the process by the signal it received, after a clean shutdown.
    expect(await workerExit).toBe('SIGTERM');
    expect(workerOutput).not.toMatch(/error|warn/i); // Node's ExperimentalWarning for require(esm) included
  }, 180_000);
});

describe('the footprint', () => {
  it('is printed: packages and MB added to a Nest 11 app already on TypeORM and PostgreSQL, and to a fresh one; the time to require the root', async () => {
    await installs.get('nest11-typeorm03');
    await installs.get('footprint');
    const typeormApp = appDir('nest11-typeorm03');
    const manifest = JSON.parse(readFileSync(join(typeormApp, 'package.json'), 'utf8')) as { dependencies: Record<string, string> };
    const onTypeorm = footprint(typeormApp, Object.keys(manifest.dependencies).filter((name) => name !== 'nestjs-celery'), ['nestjs-celery']);
    const fresh = appDir('footprint');
    const freshAmqpPostgres = footprint(fresh, FOOTPRINT_APP.base, ['nestjs-celery', 'typeorm', 'pg']);
    const freshAmqpOnly = footprint(fresh, FOOTPRINT_APP.base, ['nestjs-celery']);
    const bullmq = footprint(fresh, FOOTPRINT_APP.base, ['@nestjs/bullmq', 'bullmq']);
    const timing = requireTime(typeormApp, 'nestjs-celery');
    const mb = (bytes: number) => `${(bytes / 1e6).toFixed(1)} MB`;
    const lines = [
      'Footprint of the packed nestjs-celery (packages reachable only through what was added; bytes of their files):',
      `  Nest 11 app on TypeORM 0.3 + pg (${onTypeorm.basePackages} packages, ${mb(onTypeorm.baseBytes)}), + nestjs-celery: +${onTypeorm.addedPackages} packages, +${mb(onTypeorm.addedBytes)} (${onTypeorm.added.join(', ')})`,
      `  fresh Nest 11 app (${freshAmqpPostgres.basePackages} packages, ${mb(freshAmqpPostgres.baseBytes)}), + nestjs-celery typeorm pg: +${freshAmqpPostgres.addedPackages} packages, +${mb(freshAmqpPostgres.addedBytes)}`,
      `  fresh Nest 11 app, + nestjs-celery alone (RabbitMQ, rpc:// results): +${freshAmqpOnly.addedPackages} packages, +${mb(freshAmqpOnly.addedBytes)}`,
      `  fresh Nest 11 app, + @nestjs/bullmq bullmq (for comparison): +${bullmq.addedPackages} packages, +${mb(bullmq.addedBytes)}`,
      `  require('nestjs-celery') after Nest: ${timing.moduleMs} ms (Nest itself ${timing.nestMs} ms; median of 5 fresh processes)`,
    ];
    console.log(lines.join('\n'));
    expect(onTypeorm.addedPackages).toBeLessThanOrEqual(10);
    expect(onTypeorm.added).not.toEqual(expect.arrayContaining(['typeorm']));
  }, 600_000);
});
