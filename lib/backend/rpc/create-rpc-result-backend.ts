import { missingBrokerError, RpcBackendOptions } from './rpc-backend-options';
import { RpcResultBackend } from './rpc-result-backend';

/**
 * The rpc:// backend from createResultBackend's settings, where the broker may be missing (the
 * `rpc://` URL itself carries nothing: as in Celery, results go through the app's broker).
 * Throws ResultBackendConfigurationError without a broker.
 */
export function createRpcResultBackend(config: Partial<RpcBackendOptions>): RpcResultBackend {
  const { broker, resultExpiresSeconds, persistent, maxCachedResults, logger } = config;
  if (!broker) throw missingBrokerError();
  return new RpcResultBackend({ broker, resultExpiresSeconds, persistent, maxCachedResults, logger });
}
