import { Inject, Injectable } from '@nestjs/common';
import type { ResultBackend } from '../backend/result-backend.interface';
import type { Broker } from '../broker/broker.interface';
import { CELERY_BROKER, CELERY_RESULT_BACKEND } from '../celery.constants';
import { maskSecretsInText } from '../utils/mask-secrets';
import { withTimeout } from '../utils/with-timeout';

/**
 * One check's outcome, shaped as @nestjs/terminus's HealthIndicatorResult, so Terminus is not
 * needed at run time by apps that do not use it.
 */
export type CeleryHealthResult = Record<string, { status: 'up' | 'down'; [detail: string]: unknown }>;

/** How long backend() waits for the ping before reporting the backend down. */
const DEFAULT_PING_TIMEOUT_MS = 3000;

/**
 * Health checks for @nestjs/terminus: `health.check([() => celery.broker(), () => celery.backend()])`.
 * A failing check comes back as `status: 'down'` with the reason, which Terminus turns into a 503.
 * Celery's nearest equivalents are `celery inspect ping` and `celery status`, which ask the
 * workers; these check this process's own connections.
 */
@Injectable()
export class CeleryHealthIndicator {
  constructor(
    @Inject(CELERY_BROKER) private readonly brokerConnection: Broker,
    @Inject(CELERY_RESULT_BACKEND) private readonly resultBackend: ResultBackend,
  ) {}

  /** Up while the broker connection is open (no round trip: reconnecting is reported as down). */
  async broker(key = 'celery_broker'): Promise<CeleryHealthResult> {
    const { isConnected, description } = this.brokerConnection;
    return { [key]: isConnected ? { status: 'up', broker: description } : { status: 'down', broker: description, reason: 'not connected' } };
  }

  /** Up when the result backend answers a ping (`SELECT 1` for a database) within `timeoutMs`. */
  async backend(key = 'celery_backend', timeoutMs = DEFAULT_PING_TIMEOUT_MS): Promise<CeleryHealthResult> {
    const { description } = this.resultBackend;
    try {
      await withTimeout(this.resultBackend.ping(), timeoutMs, () => new Error(`no answer within ${timeoutMs} ms`));
      return { [key]: { status: 'up', backend: description } };
    } catch (error) {
      return { [key]: { status: 'down', backend: description, reason: maskSecretsInText((error as Error).message) } };
    }
  }
}
