import { createServer, IncomingMessage, Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { AlertDelivery } from '../../lib/alerts/alert-delivery';
import { AlertListeners } from '../../lib/alerts/alert-listeners';
import type { CeleryAlert } from '../../lib/alerts/celery-alert';

const alert: CeleryAlert = {
  rule: 'queue-backlog',
  status: 'firing',
  severity: 'warning',
  key: 'celery',
  summary: 'Queue celery holds 11 ready messages, over its limit of 10',
  details: { queue: 'celery', depth: 11, maxDepth: 10 },
  at: '2026-11-24T12:00:00.000Z',
};

function recordingLogger() {
  const lines: string[] = [];
  return { lines, logger: { log: (m: string) => lines.push(m), warn: (m: string) => lines.push(m), error: (m: string) => lines.push(m) } };
}

async function readBody(request: IncomingMessage): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of request) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

describe('AlertDelivery', () => {
  let server: Server;
  let baseUrl: string;
  const received: { auth: string | undefined; body: unknown }[] = [];
  let failuresToServe = 0;

  beforeAll(async () => {
    server = createServer(async (request, response) => {
      const body = await readBody(request);
      if (failuresToServe > 0) {
        failuresToServe -= 1;
        response.writeHead(503).end();
        return;
      }
      received.push({ auth: request.headers.authorization, body: JSON.parse(body) });
      response.writeHead(request.url === '/refuse' ? 400 : 204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    baseUrl = `127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  afterAll(() => new Promise<void>((resolve) => server.close(() => resolve())));
  beforeEach(() => {
    received.length = 0;
    failuresToServe = 0;
  });

  it('gives the alert to every listener and POSTs it as JSON, with basic auth from the URL', async () => {
    const seen: CeleryAlert[] = [];
    const { logger, lines } = recordingLogger();
    const delivery = new AlertDelivery({
      listeners: [(a) => void seen.push(a), () => Promise.reject(new Error('pager down'))],
      webhookUrl: `http://hook:s3cret@${baseUrl}/alerts`,
      webhookTimeoutMs: 2000,
      logger,
    });
    delivery.deliver(alert);
    await delivery.settle();
    expect(seen).toEqual([alert]);
    expect(received).toEqual([{ auth: `Basic ${Buffer.from('hook:s3cret').toString('base64')}`, body: alert }]);
    expect(lines).toContain('Alert firing [queue-backlog] Queue celery holds 11 ready messages, over its limit of 10');
    expect(lines).toContain('An alert listener threw on a queue-backlog alert: Error: pager down');
  });

  it('retries a webhook answering 5xx', async () => {
    failuresToServe = 2;
    const { logger, lines } = recordingLogger();
    const delivery = new AlertDelivery({ listeners: [], webhookUrl: `http://${baseUrl}/alerts`, webhookTimeoutMs: 2000, logger });
    delivery.deliver(alert);
    await delivery.settle();
    expect(received).toHaveLength(1);
    expect(lines.filter((line) => line.includes('did not take'))).toEqual([]);
  }, 10_000);

  it('logs only the webhook origin when the webhook refuses the alert or cannot be reached', async () => {
    const { logger, lines } = recordingLogger();
    const refusing = new AlertDelivery({ listeners: [], webhookUrl: `http://hook:s3cret@${baseUrl}/refuse`, webhookTimeoutMs: 2000, logger });
    refusing.deliver(alert);
    await refusing.settle();
    expect(received).toHaveLength(1); // a 4xx is not retried
    const unreachable = new AlertDelivery({ listeners: [], webhookUrl: 'http://hook:s3cret@127.0.0.1:9/alerts', webhookTimeoutMs: 500, logger });
    unreachable.deliver(alert);
    await unreachable.settle();
    const problems = lines.filter((line) => line.includes('did not take'));
    expect(problems).toHaveLength(2);
    expect(problems[0]).toContain(`The alert webhook at http://${baseUrl} did not take a queue-backlog alert (HTTP 400)`);
    expect(problems[1]).toMatch(/The alert webhook at http:\/\/127\.0\.0\.1:9 did not take a queue-backlog alert \(TypeError: fetch failed/);
    // Neither the password nor the path (where Slack-like webhooks keep their secret) is logged.
    expect(lines.join('\n')).not.toContain('s3cret');
    expect(lines.join('\n')).not.toContain('/refuse');
  }, 15_000);
});

describe('AlertListeners (the @OnCeleryAlert() methods)', () => {
  it('calls every interested method even when one throws synchronously, and names each failure', async () => {
    const listeners = new AlertListeners();
    const seen: string[] = [];
    listeners.add(() => {
      throw new Error('pager down');
    }, { source: 'Pager.page' });
    listeners.add((a) => void seen.push(`oncall ${a.key}`), { source: 'OnCall.page', rules: ['queue-backlog'] });
    listeners.add((a) => void seen.push(`other ${a.key}`), { source: 'Other.page', rules: ['worker-silent'] });
    listeners.add(() => Promise.reject(new Error('mail down')), { source: 'Mail.send' });
    await expect(listeners.receive(alert)).rejects.toThrow('Pager.page: pager down; Mail.send: mail down');
    expect(seen).toEqual(['oncall celery']);
  });
});
