import { randomUUID } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { LocalSqsError, LocalSqsQueue } from './local-sqs-queue';
import { type Params, parseRequest, renderError, renderResult } from './local-sqs-protocols';

/** The account id in queue URLs, as SQS-compatible servers use. */
const ACCOUNT_ID = '000000000000';

export interface LocalSqsServer {
  /** `http://127.0.0.1:<port>`: the endpoint to give clients. */
  readonly endpoint: string;
  readonly port: number;
  /** Messages visible, in flight and delayed in a queue (by its SQS name); null when it does not exist. */
  counts(queueName: string): { visible: number; inFlight: number; delayed: number } | null;
  /** The messages a queue holds (body, FIFO group and deduplication id, receive count); null when it does not exist. */
  messages(queueName: string): ReturnType<LocalSqsQueue['snapshot']> | null;
  close(): Promise<void>;
}

/**
 * An SQS-compatible server for the tests and the benchmark, in this process. No package gives one
 * that both clients can talk to: the JavaScript SDK speaks AWS JSON 1.0, Debian's boto3 and
 * kombu's pycurl client the query protocol, and npm's SQS emulators speak one of the two (fauxqs:
 * JSON, and Node ≥ 22; sqslite: query, without visibility-timeout redelivery or long polling;
 * elasticmq 0.7.1's 2013 jar: query, refusing requests sent to `/` as botocore sends them). This
 * one speaks both, with the delivery rules kombu relies on: visibility timeout and redelivery,
 * long polling, DelaySeconds, FIFO groups and deduplication, ApproximateReceiveCount.
 */
export async function startLocalSqsServer(port = 0): Promise<LocalSqsServer> {
  const queues = new Map<string, LocalSqsQueue>();
  let closed = false;
  let endpoint = '';

  const queueFor = (params: Params, path: string): LocalSqsQueue => {
    const url = typeof params.QueueUrl === 'string' ? params.QueueUrl : path;
    const name = decodeURIComponent(url.replace(/\/+$/, '').split('/').pop() ?? '');
    const queue = queues.get(name);
    if (!queue) throw new LocalSqsError('QueueDoesNotExist', `The specified queue ${name} does not exist.`);
    return queue;
  };

  const actions: Record<string, (params: Params, path: string) => Promise<Params> | Params> = {
    CreateQueue: (params) => {
      const name = String(params.QueueName ?? '');
      const attributes: Record<string, string> = { VisibilityTimeout: '30', ...((params.Attributes as Record<string, string> | undefined) ?? {}) };
      if (!/^[A-Za-z0-9_-]{1,80}(\.fifo)?$/.test(name)) {
        throw new LocalSqsError('InvalidParameterValue', `Can only include alphanumeric characters, hyphens, or underscores. 1 to 80 in length: "${name}"`);
      }
      if (name.endsWith('.fifo') !== (attributes.FifoQueue === 'true')) throw new LocalSqsError('InvalidParameterValue', 'The name of a FIFO queue can only include alphanumeric characters, hyphens, or underscores, must end with .fifo suffix');
      const existing = queues.get(name);
      if (existing) {
        const differs = Object.entries(attributes).some(([key, value]) => existing.attributes[key] !== value);
        if (differs) throw new LocalSqsError('QueueNameExists', `A queue already exists with the same name and a different value for attribute(s): ${name}`);
        return { QueueUrl: existing.url };
      }
      const queue = new LocalSqsQueue(name, `${endpoint}/${ACCOUNT_ID}/${name}`, attributes);
      queues.set(name, queue);
      return { QueueUrl: queue.url };
    },
    GetQueueUrl: (params) => {
      const queue = queues.get(String(params.QueueName ?? ''));
      if (!queue) throw new LocalSqsError('QueueDoesNotExist', 'The specified queue does not exist.');
      return { QueueUrl: queue.url };
    },
    ListQueues: (params) => {
      const prefix = String(params.QueueNamePrefix ?? '');
      return { QueueUrls: [...queues.values()].filter((queue) => queue.name.startsWith(prefix)).map((queue) => queue.url) };
    },
    DeleteQueue: (params, path) => {
      const queue = queueFor(params, path);
      queues.delete(queue.name);
      queue.wakeAll();
      return {};
    },
    PurgeQueue: (params, path) => {
      queueFor(params, path).purge();
      return {};
    },
    GetQueueAttributes: (params, path) => {
      const queue = queueFor(params, path);
      const { visible, inFlight, delayed } = queue.counts();
      const all: Record<string, string> = {
        ...queue.attributes,
        ApproximateNumberOfMessages: String(visible),
        ApproximateNumberOfMessagesNotVisible: String(inFlight),
        ApproximateNumberOfMessagesDelayed: String(delayed),
        QueueArn: `arn:aws:sqs:us-east-1:${ACCOUNT_ID}:${queue.name}`,
      };
      const names = (params.AttributeNames as string[] | undefined) ?? [];
      const wanted = names.includes('All') ? Object.keys(all) : names;
      return { Attributes: Object.fromEntries(wanted.filter((name) => name in all).map((name) => [name, all[name]])) };
    },
    SendMessage: (params, path) =>
      queueFor(params, path).send(String(params.MessageBody ?? ''), {
        delaySeconds: params.DelaySeconds === undefined ? undefined : Number(params.DelaySeconds),
        groupId: params.MessageGroupId as string | undefined,
        deduplicationId: params.MessageDeduplicationId as string | undefined,
      }),
    SendMessageBatch: (params, path) => {
      const queue = queueFor(params, path);
      const entries = (params.Entries as Params[] | undefined) ?? [];
      const successful = entries.map((entry) => ({
        Id: entry.Id,
        ...queue.send(String(entry.MessageBody ?? ''), {
          delaySeconds: entry.DelaySeconds === undefined ? undefined : Number(entry.DelaySeconds),
          groupId: entry.MessageGroupId as string | undefined,
          deduplicationId: entry.MessageDeduplicationId as string | undefined,
        }),
      }));
      return { Successful: successful, Failed: [] };
    },
    ReceiveMessage: async (params, path) => {
      const queue = queueFor(params, path);
      const max = Number(params.MaxNumberOfMessages ?? 1);
      if (!(max >= 1 && max <= 10)) throw new LocalSqsError('InvalidParameterValue', `Value ${max} for parameter MaxNumberOfMessages is invalid. Reason: Must be between 1 and 10, if provided.`);
      const wait = Number(params.WaitTimeSeconds ?? queue.attributes.ReceiveMessageWaitTimeSeconds ?? 0);
      if (!(wait >= 0 && wait <= 20)) throw new LocalSqsError('InvalidParameterValue', `Value ${wait} for parameter WaitTimeSeconds is invalid. Reason: Must be >= 0 and <= 20, if provided.`);
      const visibility = params.VisibilityTimeout === undefined ? undefined : Number(params.VisibilityTimeout);
      const messages = await queue.receive(max, wait, visibility, () => closed || !queues.has(queue.name));
      const wanted = new Set([...((params.AttributeNames as string[] | undefined) ?? []), ...((params.MessageSystemAttributeNames as string[] | undefined) ?? [])]);
      const all = wanted.has('All');
      return {
        Messages: messages.map((message) => ({
          ...message,
          Attributes: Object.fromEntries(Object.entries(message.Attributes).filter(([name]) => all || wanted.has(name))),
        })),
      };
    },
    DeleteMessage: (params, path) => {
      queueFor(params, path).delete(String(params.ReceiptHandle ?? ''));
      return {};
    },
    DeleteMessageBatch: (params, path) => {
      const queue = queueFor(params, path);
      const entries = (params.Entries as Params[] | undefined) ?? [];
      for (const entry of entries) queue.delete(String(entry.ReceiptHandle ?? ''));
      return { Successful: entries.map((entry) => ({ Id: entry.Id })), Failed: [] };
    },
    ChangeMessageVisibility: (params, path) => {
      queueFor(params, path).changeVisibility(String(params.ReceiptHandle ?? ''), Number(params.VisibilityTimeout ?? 0));
      return {};
    },
  };

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const url = new URL(request.url ?? '/', endpoint);
    const requestId = randomUUID();
    const target = request.headers['x-amz-target'];
    let parsed;
    try {
      parsed = parseRequest(Array.isArray(target) ? target[0] : target, url.searchParams, Buffer.concat(chunks).toString('utf8'));
    } catch {
      const rendered = renderError('json', 'InvalidParameterValue', 'The request body is not valid JSON.', 400, requestId);
      response.writeHead(rendered.status, rendered.headers).end(rendered.body);
      return;
    }
    const action = actions[parsed.action];
    let rendered;
    try {
      if (!action) throw new LocalSqsError(parsed.protocol === 'json' ? 'UnsupportedOperation' : 'InvalidAction', `The action ${parsed.action} is not valid for this endpoint.`);
      rendered = renderResult(parsed.protocol, parsed.action, await action(parsed.params, url.pathname), requestId);
    } catch (error) {
      const known = error instanceof LocalSqsError ? error : new LocalSqsError('InternalFailure', (error as Error).message, 500);
      rendered = renderError(parsed.protocol, known.code, known.message, known.status, requestId);
    }
    response.writeHead(rendered.status, rendered.headers).end(rendered.body);
  };

  const server: Server = createServer((request, response) => void handle(request, response));
  // Idle keep-alive connections stay open longer than clients keep them (as AWS's do): a server
  // closing first races the client's next request on that socket (ECONNRESET).
  server.keepAliveTimeout = 120_000;
  server.headersTimeout = 121_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const bound = (server.address() as AddressInfo).port;
  endpoint = `http://127.0.0.1:${bound}`;
  return {
    endpoint,
    port: bound,
    counts: (name) => queues.get(name)?.counts() ?? null,
    messages: (name) => queues.get(name)?.snapshot() ?? null,
    close: async () => {
      closed = true;
      for (const queue of queues.values()) queue.wakeAll();
      server.closeAllConnections();
      await new Promise<void>((resolve) => server.close(() => resolve()));
    },
  };
}
