import { INestApplicationContext, Injectable } from '@nestjs/common';
import { CeleryClient, CeleryTask } from '../../lib';
import { parseAmqpUrl } from '../../lib/broker/amqp/amqp-url';
import { eventually, startCeleryApp } from '../support/celery-app';
import { runPython } from '../support/python-celery';
import { assertRabbitMqReachable, deleteExchanges, deleteQueues, uniqueName } from '../support/rabbitmq';

/** The URLs Django projects write, as kombu documents them: no password, no vhost, no port. */
const SHORT_URLS = ['amqp://guest@localhost', 'amqp://localhost'];

@Injectable()
class UrlTasks {
  readonly echoed = new Map<string, string>();

  @CeleryTask({ name: 'broker_url.echo' })
  echo(key: string, from: string): string {
    this.echoed.set(key, from);
    return key;
  }
}

/**
 * What kombu 5.2.4 hands py-amqp for each URL: its pyamqp transport's `establish_connection`
 * with py-amqp's Connection swapped for a recorder, so nothing connects and nothing is assumed.
 */
async function kombuConnectionArguments(urls: string[]): Promise<Record<string, Record<string, unknown>>> {
  const script = `
import json
from kombu import Connection
from kombu.transport import pyamqp

captured = {}
class Recorder:
    def __init__(self, **options):
        captured.update(options)
    def connect(self):
        pass
pyamqp.Transport.Connection = Recorder

readings = {}
for url in json.loads(${JSON.stringify(JSON.stringify(urls))}):
    captured.clear()
    Connection(url).transport.establish_connection()
    host, _, port = captured['host'].rpartition(':')
    readings[url] = dict(host=host, port=int(port), userid=captured['userid'], password=captured['password'],
                         virtualHost=captured['virtual_host'], tls=bool(captured['ssl']))
print(json.dumps(readings))
`;
  return JSON.parse((await runPython(script)).trim().split('\n').pop()!);
}

describe('broker URLs as kombu reads them', () => {
  it('are read exactly as kombu 5.2.4 hands them to py-amqp (user, password, host, port, vhost, TLS)', async () => {
    const urls = [
      ...SHORT_URLS,
      'amqp://localhost/',
      'amqp://localhost//',
      'amqp://h/%2F',
      'amqp://h///',
      'amqp://h/sales',
      'pyamqp://u:p%40x@h:1234/v%2Fx',
      'amqps://h',
      'amqps://localhost:5671//',
      'AMQP://User:P@ss@LOCALHOST:5673/Vh',
      'amqp://:secret@h',
      'amqp://user:@h',
      'amqp://',
      'amqp://[::1]:5673/x',
      'amqp://h:/x',
      'amqp://h/caf%C3%A9',
    ];
    const kombu = await kombuConnectionArguments(urls);
    const ours = Object.fromEntries(
      urls.map((url) => {
        const { host, port, userid, password, virtualHost, tls } = parseAmqpUrl(url);
        return [url, { host, port, userid, password, virtualHost, tls }];
      }),
    );
    expect(ours).toEqual(kombu);
  });

  describe.each(SHORT_URLS)('%s', (url) => {
    let app: INestApplicationContext;
    let queue: string;

    beforeAll(async () => {
      // The shared RabbitMQ listens on 127.0.0.1:5672 with guest/guest, which these URLs mean.
      await assertRabbitMqReachable('amqp://guest:guest@127.0.0.1:5672');
      queue = uniqueName('it-broker-url');
      app = await startCeleryApp({ broker: url, defaultQueue: queue, worker: { concurrency: 1 } }, [UrlTasks]);
    }, 30_000);

    afterAll(async () => {
      await app?.close();
      await deleteQueues(queue);
      await deleteExchanges(queue);
    });

    it('connects our worker and client, which run a task sent by our client and one sent by Python Celery with the same URL', async () => {
      const tasks = app.get(UrlTasks);
      await app.get(CeleryClient).send('broker_url.echo', ['from-nest', 'nest']);
      await runPython(`
from celery import Celery
app = Celery(broker=${JSON.stringify(url)})
app.send_task('broker_url.echo', args=['from-python', 'python'], queue=${JSON.stringify(queue)})
`);
      await eventually(() => (tasks.echoed.size === 2 ? true : undefined), 15_000, 'both tasks to run on our worker');
      expect(Object.fromEntries(tasks.echoed)).toEqual({ 'from-nest': 'nest', 'from-python': 'python' });
    });
  });
});
