import { Logger } from '@nestjs/common';
import { ClientProxy, ReadPacket, WritePacket } from '@nestjs/microservices';
import { CELERY_LOGGER_CONTEXT } from '../celery.constants';
import { CeleryClient } from '../client/celery-client';
import { SendTaskOptions } from '../client/send-task-options';
import { CeleryModuleOptions } from '../runtime/celery-module-options';
import { CeleryRuntime } from '../runtime/celery-runtime';
import { createCeleryRuntime } from '../runtime/create-celery-runtime';

/** What `client.send(name, data)` / `emit` accept: the args array, or args with kwargs and options. */
export type CeleryProxyPayload = unknown[] | { args?: unknown[]; kwargs?: Record<string, unknown>; options?: SendTaskOptions };

/**
 * A Nest ClientProxy over Celery: `client.send('tasks.add', [2, 2])` sends the task and emits its
 * result (or errors with TaskFailedError); `client.emit(...)` sends it without waiting.
 */
export class CeleryClientProxy extends ClientProxy {
  private readonly celeryLogger = new Logger(CELERY_LOGGER_CONTEXT);
  private connecting: Promise<CeleryRuntime> | null = null;

  constructor(private readonly options: CeleryModuleOptions = {}) {
    super();
  }

  /** Builds a producer-only runtime (the same composition root as CeleryModule) on first use. */
  connect(): Promise<CeleryClient> {
    this.connecting ??= createCeleryRuntime({ ...this.options, worker: false }, { logger: this.celeryLogger }).then(async (runtime) => {
      await runtime.start();
      return runtime;
    });
    return this.connecting.then((runtime) => runtime.parts.client);
  }

  async close(): Promise<void> {
    const connecting = this.connecting;
    this.connecting = null;
    if (!connecting) return;
    await (await connecting).close();
  }

  unwrap<T>(): T {
    if (!this.connecting) throw new Error('CeleryClientProxy is not connected yet; call connect() first.');
    return this.connecting as T;
  }

  protected publish(packet: ReadPacket<CeleryProxyPayload>, callback: (packet: WritePacket) => void): () => void {
    let cancelled = false;
    const abort = new AbortController();
    void (async () => {
      try {
        const { args, options } = toCall(packet.data);
        const client = await this.connect();
        const result = await client.send(taskName(packet.pattern), args, options);
        const value = await result.get({ signal: abort.signal });
        if (!cancelled) callback({ response: value, isDisposed: true });
      } catch (error) {
        if (!cancelled) callback({ err: error, isDisposed: true });
      }
    })();
    return () => {
      cancelled = true;
      abort.abort();
    };
  }

  protected async dispatchEvent<T = unknown>(packet: ReadPacket<CeleryProxyPayload>): Promise<T> {
    const { args, options } = toCall(packet.data);
    const client = await this.connect();
    return (await client.send(taskName(packet.pattern), args, { ...options, ignoreResult: true })) as T;
  }
}

function taskName(pattern: unknown): string {
  if (typeof pattern !== 'string') throw new TypeError(`The Celery transport needs the task name as a string pattern, got ${JSON.stringify(pattern)}`);
  return pattern;
}

function toCall(data: CeleryProxyPayload | undefined): { args: unknown[]; options: SendTaskOptions } {
  if (data === undefined || data === null) return { args: [], options: {} };
  if (Array.isArray(data)) return { args: data, options: {} };
  return { args: data.args ?? [], options: { ...data.options, kwargs: data.kwargs } };
}
