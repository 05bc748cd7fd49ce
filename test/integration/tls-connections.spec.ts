import { INestApplicationContext, Injectable } from '@nestjs/common';
import { BrokerConnectionError, CeleryClient, CeleryTask } from '../../lib';
import { ResultBackendConnectionError } from '../../lib/errors/result-backend-connection.error';
import { startCeleryApp } from '../support/celery-app';
import { querySql } from '../support/postgres';
import { startPrivatePostgres, PrivatePostgres } from '../support/private-postgres';
import { assertRabbitMqReachable, RABBITMQ_URL } from '../support/rabbitmq';
import { createTestEnvironment, TestEnvironment } from '../support/test-environment';
import { createTestPki, TestPki } from '../support/test-pki';
import { startTlsTerminator, TlsTerminator } from '../support/tls-terminator';

@Injectable()
class TlsTasks {
  @CeleryTask({ name: 'tls.echo' })
  echo(value: string): string {
    return value;
  }
}

/** Logs swallowed by the test app are not checked here: the errors are, and they must be masked. */
describe('TLS to RabbitMQ (amqps) and PostgreSQL (sslmode) through the options', () => {
  let pki: TestPki;
  let server: ReturnType<TestPki['tlsServer']>;
  beforeAll(() => {
    pki = createTestPki();
    server = pki.tlsServer('tls');
  });
  afterAll(() => pki?.remove());

  describe('amqps:// through a TLS terminator in front of the shared RabbitMQ', () => {
    let env: TestEnvironment;
    let terminator: TlsTerminator;
    let app: INestApplicationContext | undefined;
    beforeAll(async () => {
      await assertRabbitMqReachable();
      env = await createTestEnvironment('it-tls');
      terminator = await startTlsTerminator({ key: server.keyPem, cert: server.certificatePem, targetPort: Number(new URL(RABBITMQ_URL).port || 5672) });
    });
    afterAll(async () => {
      await app?.close();
      await terminator?.close();
      await env?.dispose();
    });

    const amqpsUrl = () => {
      const url = new URL(RABBITMQ_URL);
      return `amqps://${url.username}:${url.password}@localhost:${terminator.port}${url.pathname}`;
    };

    it('connects with the CA given in socketOptions, and tasks go both ways over it', async () => {
      app = await startCeleryApp(
        { broker: { url: amqpsUrl(), socketOptions: { ca: [server.caPem] } }, backend: 'rpc://', defaultQueue: env.queue, worker: { queues: [env.queue] } },
        [TlsTasks],
      );
      const result = await app.get(CeleryClient).send('tls.echo', ['over tls']);
      await expect(result.get({ timeout: 20_000 })).resolves.toBe('over tls');
      expect(terminator.handshakes).toBeGreaterThan(0);
    });

    it('refuses a broker whose certificate it cannot verify, with the password masked', async () => {
      const before = terminator.handshakes;
      const url = amqpsUrl();
      const error = await startCeleryApp({ broker: { url, connectTimeoutMs: 3000 }, backend: false, worker: false }).then(
        async (started) => {
          await started.close();
          throw new Error('expected the connection to be refused');
        },
        (caught: unknown) => caught as Error,
      );
      expect(error).toBeInstanceOf(BrokerConnectionError);
      expect(error.message).toMatch(/certificate/i);
      const password = new URL(RABBITMQ_URL).password;
      expect(error.message).toContain(`:***@localhost:${terminator.port}`);
      if (password) expect(error.message).not.toContain(`:${password}@`);
      expect(terminator.handshakes).toBe(before);
    });
  });

  describe('PostgreSQL with sslmode, against a private server with ssl = on', () => {
    let postgres: PrivatePostgres;
    let app: INestApplicationContext | undefined;
    beforeAll(async () => {
      postgres = await startPrivatePostgres({ label: 'tls', tls: { certificatePath: server.certificatePath, keyPath: server.keyPath } });
    }, 60_000);
    afterAll(async () => {
      await app?.close();
      await postgres?.stop();
    });

    it('stores results over TLS with sslmode=verify-full and the CA in sslrootcert, as pg_stat_ssl shows', async () => {
      const backend = postgres.urlWith(`sslmode=verify-full&sslrootcert=${encodeURIComponent(server.caPath)}`);
      app = await startCeleryApp({ broker: 'memory://', backend, worker: { queues: ['celery'] } }, [TlsTasks]);
      const result = await app.get(CeleryClient).send('tls.echo', ['stored over tls']);
      await expect(result.get({ timeout: 20_000 })).resolves.toBe('stored over tls');
      const rows = await querySql(
        postgres.urlWith(),
        `SELECT s.ssl FROM pg_stat_ssl s JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'nestjs-celery result backend'`,
      );
      expect(rows.length).toBeGreaterThan(0);
      expect(rows.every((row) => row.ssl === true)).toBe(true);
      const [stored] = await querySql(postgres.urlWith(), 'SELECT status FROM celery_taskmeta WHERE task_id = $1', [result.id]);
      expect(stored.status).toBe('SUCCESS');
    });

    it('refuses a server certificate it cannot verify, with the password masked', async () => {
      const backend = postgres.urlWith('sslmode=verify-full', 'not-the-real-one');
      const error = await startCeleryApp({ broker: 'memory://', backend, worker: false }).then(
        async (started) => {
          await started.close();
          throw new Error('expected the connection to be refused');
        },
        (caught: unknown) => caught as Error,
      );
      expect(error).toBeInstanceOf(ResultBackendConnectionError);
      expect(error.message).toMatch(/certificate/i);
      expect(error.message).toContain('postgres:***@localhost');
      expect(error.message).not.toContain('not-the-real-one');
    });
  });
});
