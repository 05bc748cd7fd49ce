import type { Broker } from '../../broker/broker.interface';
import { ResultBackendConfigurationError } from '../../errors/result-backend-configuration.error';
import { CeleryLogger, SILENT_LOGGER } from '../../utils/logger';

/**
 * Options of the rpc:// result backend (Celery's `result_backend = 'rpc://'`,
 * `celery.backends.rpc.RPCBackend`): results travel back as AMQP messages to the reply queue of
 * the process that sent the task.
 */
export interface RpcBackendOptions {
  /** The app's broker: replies are published and consumed through it. */
  broker: Broker;
  /**
   * Celery's `result_expires`: the reply queue is deleted this long after it was last used
   * (its `x-expires`). 0 or null: the queue never expires. Default 86400 (one day), as Celery.
   */
  resultExpiresSeconds?: number | null;
  /** Celery's `result_persistent`: replies survive a broker restart (delivery_mode 2). Default false. */
  persistent?: boolean;
  /**
   * How many task states the client remembers at most (the latest per task); beyond that the
   * least recently updated are dropped. Celery's client buffers unclaimed replies in a bounded
   * map too. Default 100000.
   */
  maxCachedResults?: number;
  logger?: CeleryLogger;
}

/** The options with every default applied and checked: the one place the defaults live. */
export interface ResolvedRpcBackendOptions {
  broker: Broker;
  /** The reply queue's `x-expires` in milliseconds, or null for none. */
  replyQueueExpiresMs: number | null;
  deliveryMode: 1 | 2;
  maxCachedResults: number;
  logger: CeleryLogger;
}

export const RPC_BACKEND_DEFAULTS = {
  resultExpiresSeconds: 86_400,
  persistent: false,
  maxCachedResults: 100_000,
} as const;

/**
 * Applies the defaults and refuses options that cannot work. Takes a partial object because
 * createResultBackend passes settings where the broker may be missing.
 */
export function resolveRpcBackendOptions(options: Partial<RpcBackendOptions>): ResolvedRpcBackendOptions {
  if (!options.broker) throw missingBrokerError();
  const expiresSeconds = options.resultExpiresSeconds === undefined ? RPC_BACKEND_DEFAULTS.resultExpiresSeconds : options.resultExpiresSeconds;
  if (expiresSeconds !== null && !(Number.isFinite(expiresSeconds) && expiresSeconds >= 0)) {
    throw new ResultBackendConfigurationError(
      `The rpc:// result backend got resultExpiresSeconds = ${String(expiresSeconds)}. ` +
        'Expected a number of seconds of 0 or more (0 or null: the reply queue never expires).',
    );
  }
  const maxCachedResults = options.maxCachedResults ?? RPC_BACKEND_DEFAULTS.maxCachedResults;
  if (!Number.isInteger(maxCachedResults) || maxCachedResults < 1) {
    throw new ResultBackendConfigurationError(
      `The rpc:// result backend got maxCachedResults = ${String(maxCachedResults)}. Expected a positive integer.`,
    );
  }
  // kombu writes int(expires * 1000); RabbitMQ refuses x-expires 0, so below 1 ms means none.
  const expiresMs = expiresSeconds === null ? 0 : Math.trunc(expiresSeconds * 1000);
  return {
    broker: options.broker,
    replyQueueExpiresMs: expiresMs >= 1 ? expiresMs : null,
    deliveryMode: (options.persistent ?? RPC_BACKEND_DEFAULTS.persistent) ? 2 : 1,
    maxCachedResults,
    logger: options.logger ?? SILENT_LOGGER,
  };
}

/** The rpc:// backend was configured without the broker its results travel through. */
export function missingBrokerError(): ResultBackendConfigurationError {
  return new ResultBackendConfigurationError(
    'The rpc:// result backend got no broker. It sends and receives results through the Celery broker, ' +
      'so it needs one: configure `broker` (e.g. amqp://guest:guest@localhost:5672//) next to `backend: "rpc://"`, ' +
      'or pass `broker` when constructing RpcResultBackend.',
  );
}
