import { INestApplicationContext } from '@nestjs/common';
import { ChildProcess, execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Redis } from 'ioredis';
import { BrokerConnectionError, CeleryClient } from '../../lib';
import { createBroker } from '../../lib/broker/create-broker';
import { celeryOptionsFromEnvironment } from '../../sample-app/src/celery-settings';
import { TasksModule } from '../../sample-app/src/tasks/tasks.module';
import { eventually, startCeleryApp } from '../support/celery-app';
import { runInteropClient } from '../support/python-worker';
import { uniqueName } from '../support/rabbitmq';
import { freeLocalPort } from '../support/redis';

const PASSWORD = 'p@ss:w0rd';
const SILENT = { log: () => undefined, warn: () => undefined, error: () => undefined };

/**
 * `rediss://` with a password and a database number, against a TLS Redis this test starts for
 * itself (certificates made with openssl): our worker and client verify the server against the
 * CA given in `ssl_ca_certs`, and a Python Celery 5.2.6 client uses the very same URL.
 */
describe('Redis over TLS with a password (rediss://)', () => {
  const directory = mkdtempSync(join(tmpdir(), 'nestjs-celery-tls-'));
  let server: ChildProcess | undefined;
  let port: number;
  const ca = join(directory, 'ca.crt');
  let url: string;
  const queue = uniqueName('it-tls');
  let app: INestApplicationContext;

  beforeAll(async () => {
    port = await freeLocalPort();
    url = `rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/3?ssl_cert_reqs=required&ssl_ca_certs=${encodeURIComponent(ca)}`;
    const openssl = (...args: string[]) => execFileSync('openssl', args, { cwd: directory, stdio: 'ignore' });
    openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'ca.key', '-out', 'ca.crt', '-days', '1', '-subj', '/CN=nestjs-celery test CA');
    openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', 'server.key', '-out', 'server.csr', '-subj', '/CN=127.0.0.1');
    writeFileSync(join(directory, 'san.cnf'), 'subjectAltName=IP:127.0.0.1\n');
    openssl('x509', '-req', '-in', 'server.csr', '-CA', 'ca.crt', '-CAkey', 'ca.key', '-CAcreateserial', '-out', 'server.crt', '-days', '1', '-extfile', 'san.cnf');
    let spawnError: Error | undefined;
    server = spawn(
      'redis-server',
      ['--port', '0', '--tls-port', String(port), '--bind', '127.0.0.1', '--tls-cert-file', 'server.crt', '--tls-key-file', 'server.key', '--tls-ca-cert-file', 'ca.crt', '--tls-auth-clients', 'no', '--requirepass', PASSWORD, '--save', '', '--appendonly', 'no'],
      { cwd: directory, stdio: 'ignore' },
    );
    server.once('error', (error) => (spawnError = error));
    await eventually(async () => {
      if (spawnError) throw new Error(`Could not start redis-server: ${spawnError.message}`);
      const probe = new Redis({ host: '127.0.0.1', port, password: PASSWORD, tls: { ca: readFileSync(ca) }, lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null });
      probe.on('error', () => undefined);
      try {
        await probe.connect();
        return (await probe.ping()) === 'PONG' ? true : undefined;
      } catch {
        return undefined;
      } finally {
        probe.disconnect();
      }
    }, 20_000, 'the TLS Redis to answer');
    app = await startCeleryApp(celeryOptionsFromEnvironment({ CELERY_BROKER_URL: url, CELERY_RESULT_BACKEND: url, CELERY_QUEUES: queue }, { worker: true }), [], [TasksModule]);
  }, 60_000);

  afterAll(async () => {
    await app?.close();
    server?.kill('SIGTERM');
    rmSync(directory, { recursive: true, force: true });
  });

  it('runs tasks and stores results over TLS, in the database the URL names', async () => {
    const result = await app.get(CeleryClient).send('tasks.add', [40, 2], { queue });
    expect(await result.get({ timeout: 20_000 })).toBe(42);
  }, 60_000);

  it('serves a Python client using the same rediss:// URL', async () => {
    const value = await runInteropClient<number>(
      `
import json
from interop_tasks import add
print(json.dumps(add.apply_async((2, 3), queue=${JSON.stringify(queue)}).get(timeout=30)))
`,
      { brokerUrl: url, resultBackend: url },
    );
    expect(value).toBe(5);
  }, 60_000);

  it('refuses a server it cannot verify, and a wrong password, with the reason and no password', async () => {
    const unverified = createBroker(`rediss://:${encodeURIComponent(PASSWORD)}@127.0.0.1:${port}/3`, { logger: SILENT, connectTimeoutMs: 2_000 });
    const wrongPassword = createBroker(`rediss://:not-it@127.0.0.1:${port}/3?ssl_ca_certs=${encodeURIComponent(ca)}`, { logger: SILENT, connectTimeoutMs: 2_000 });
    try {
      const [certificate, password] = await Promise.all([unverified.connect().catch((error: Error) => error), wrongPassword.connect().catch((error: Error) => error)]);
      expect(certificate).toBeInstanceOf(BrokerConnectionError);
      expect((certificate as Error).message).toMatch(/self[- ]signed|unable to verify|certificate/i);
      expect(password).toBeInstanceOf(BrokerConnectionError);
      expect((password as Error).message).toMatch(/WRONGPASS|invalid password|NOAUTH/i);
      for (const error of [certificate, password] as Error[]) expect(error.message).not.toContain('not-it');
      expect((certificate as Error).message).not.toContain('w0rd');
    } finally {
      await Promise.all([unverified.close(), wrongPassword.close()]);
    }
  }, 30_000);
});
