import { hostname } from 'node:os';
import { createResultBackend } from '../backend/create-result-backend';
import { DisabledResultBackend } from '../backend/disabled-result-backend';
import { ResultBackend } from '../backend/result-backend.interface';
import { Broker, BrokerEvents } from '../broker/broker.interface';
import { createBroker } from '../broker/create-broker';
import { CeleryConfig } from './celery-config';
import { CeleryLogger } from '../utils/logger';

/** Connects the broker the config names; `events` hears of every connect and disconnect. */
export async function connectBroker(config: CeleryConfig, logger: CeleryLogger, events?: BrokerEvents): Promise<Broker> {
  const { url, ...options } = config.broker;
  const broker = createBroker(url, { connectionName: `nestjs-celery ${hostname()}:${process.pid}`, ...options, logger, events });
  try {
    await broker.connect();
  } catch (error) {
    // Nobody else holds this broker: left open, it would retry (a refused TLS certificate, an
    // unreachable host) for as long as the process lives.
    await broker.close().catch(() => undefined);
    throw error;
  }
  return broker;
}

/** Connects the result backend the config names, or Celery's DisabledBackend when none. */
export async function connectResultBackend(config: CeleryConfig, broker: Broker, logger: CeleryLogger): Promise<ResultBackend> {
  const backend = config.backend ? createResultBackend({ ...config.backend, broker, logger }) : new DisabledResultBackend();
  await backend.connect();
  logger.log(`Result backend: ${backend.description}`);
  return backend;
}
