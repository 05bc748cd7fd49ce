import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';
import { connect, type ChannelModel } from 'amqplib';
import { PYTHON, pythonEnvironment } from './python-celery';
import { INTEROP_PYTHON_DIR } from './python-worker';
import { RABBITMQ_URL } from './rabbitmq';

/** What the peer Celery's `celery.events.state.State` made of the events (test/python/event_monitor.py). */
export interface EventMonitorReport {
  python_utcoffset: number;
  /** Types of the events from the watched worker and client, in arrival order. */
  events: string[];
  /** The worker as State shows it after each of its worker events. */
  worker_snapshots: { after: string; alive_workers: string[]; alive: boolean; active: number; processed: number; freq: number; loadavg: number[]; sw_ident: string; sw_ver: string; sw_sys: string }[];
  max_lag_seconds: number;
  tasks: Record<string, Record<string, any>>;
  alive_workers_at_end: string[];
}

export interface PythonEventMonitor {
  /** Resolves with State's report once the worker's worker-offline arrived (or the time ran out). */
  report: Promise<EventMonitorReport>;
  kill(): void;
}

/**
 * Starts test/python/event_monitor.py (Celery's event Receiver feeding State) for one worker and
 * resolves once its event queue is bound, so nothing sent afterwards is missed.
 */
export async function startPythonEventMonitor(options: { hostname: string; client: string; seconds: number }): Promise<PythonEventMonitor> {
  const child = spawn(PYTHON, [join(INTEROP_PYTHON_DIR, 'event_monitor.py')], {
    env: pythonEnvironment({
      EVENTS_BROKER_URL: RABBITMQ_URL,
      EVENTS_HOSTNAME: options.hostname,
      EVENTS_CLIENT: options.client,
      EVENTS_SECONDS: String(options.seconds),
    }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  const report = new Promise<EventMonitorReport>((resolve, reject) => {
    child.once('exit', (code) => {
      const lastLine = output.stdout().trim().split('\n').pop() ?? '';
      if (code === 0 && lastLine.startsWith('{')) resolve(JSON.parse(lastLine) as EventMonitorReport);
      else reject(new Error(`event_monitor.py exited with ${code}\n${output.stdout()}\n${output.stderr()}`));
    });
  });
  report.catch(() => undefined); // observed by the caller when it awaits it
  await waitForLine(child, output, (line) => line === 'ready', 20_000, 'event_monitor.py to be ready');
  return { report, kill: () => child.kill('SIGKILL') };
}

/**
 * Runs `celery -A interop_tasks events --dump` (Celery's tcpdump for events), bounded with
 * `timeout`, so a test can wait for lines and read everything it printed.
 */
export function startCeleryEventsDump(seconds: number): { waitFor(match: (line: string) => boolean, what: string): Promise<string>; output(): string; stop(): void } {
  const child = spawn('timeout', [String(seconds), PYTHON, '-m', 'celery', '-A', 'interop_tasks', 'events', '--dump'], {
    cwd: INTEROP_PYTHON_DIR,
    env: pythonEnvironment({ INTEROP_BROKER_URL: RABBITMQ_URL, INTEROP_RESULT_BACKEND: 'rpc://', PYTHONUNBUFFERED: '1' }),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  const output = collectOutput(child);
  return {
    waitFor: (match, what) => waitForLine(child, output, match, seconds * 1000, what),
    output: () => output.stdout() + output.stderr(),
    stop: () => {
      if (child.exitCode === null) child.kill('SIGTERM');
    },
  };
}

/** One message seen on the `celeryev` exchange. */
export interface RawEvent {
  routingKey: string;
  headers: Record<string, unknown>;
  properties: Record<string, unknown>;
  body: any;
}

/**
 * A plain amqplib consumer of everything published to `celeryev` (bound with `#`), to see the
 * messages as RabbitMQ routed them: routing keys, batches, headers.
 */
export async function listenToCeleryEvents(): Promise<{ events: RawEvent[]; close(): Promise<void> }> {
  const connection: ChannelModel = await connect(RABBITMQ_URL);
  const channel = await connection.createChannel();
  await channel.assertExchange('celeryev', 'topic', { durable: true, autoDelete: false });
  const { queue } = await channel.assertQueue('', { exclusive: true, autoDelete: true });
  await channel.bindQueue(queue, 'celeryev', '#');
  const events: RawEvent[] = [];
  await channel.consume(
    queue,
    (message) => {
      if (!message) return;
      const { headers, ...properties } = message.properties;
      events.push({ routingKey: message.fields.routingKey, headers: headers ?? {}, properties, body: JSON.parse(message.content.toString('utf8')) });
    },
    { noAck: true },
  );
  return { events, close: () => connection.close() };
}

function collectOutput(child: ChildProcess): { stdout(): string; stderr(): string } {
  let stdout = '';
  let stderr = '';
  child.stdout!.setEncoding('utf8').on('data', (chunk: string) => (stdout += chunk));
  child.stderr!.setEncoding('utf8').on('data', (chunk: string) => (stderr += chunk));
  return { stdout: () => stdout, stderr: () => stderr };
}

function waitForLine(child: ChildProcess, output: { stdout(): string; stderr(): string }, match: (line: string) => boolean, timeoutMs: number, what: string): Promise<string> {
  return new Promise((resolve, reject) => {
    const check = () => {
      const line = output.stdout().split('\n').find(match);
      if (line !== undefined) finish(() => resolve(line));
    };
    const onExit = (code: number | null) => finish(() => reject(new Error(`Process ended (${code}) before ${what}\n${output.stdout()}\n${output.stderr()}`)));
    const timer = setTimeout(() => finish(() => reject(new Error(`Timed out after ${timeoutMs} ms waiting for ${what}\n${output.stdout()}\n${output.stderr()}`))), timeoutMs);
    const finish = (settle: () => void) => {
      clearTimeout(timer);
      child.stdout!.off('data', check);
      child.off('exit', onExit);
      settle();
    };
    child.stdout!.on('data', check);
    child.once('exit', onExit);
    check();
  });
}
