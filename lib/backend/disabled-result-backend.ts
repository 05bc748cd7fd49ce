import { ResultBackendDisabledError } from '../errors/result-backend-disabled.error';
import { NO_CAPABILITIES } from './backend-capabilities';
import { ResultBackend } from './result-backend.interface';

/**
 * Celery's DisabledBackend: used when a broker is configured but no result backend. Storing is a
 * no-op (fire-and-forget tasks), reading explains how to configure one.
 */
export class DisabledResultBackend implements ResultBackend {
  readonly description = 'disabled (no result backend configured)';
  readonly capabilities = NO_CAPABILITIES;
  async connect(): Promise<void> {}
  async storeResult(): Promise<void> {}
  async getResult(): Promise<never> {
    throw new ResultBackendDisabledError();
  }
  async waitForResult(): Promise<never> {
    throw new ResultBackendDisabledError();
  }
  async waitForChange(): Promise<never> {
    throw new ResultBackendDisabledError();
  }
  async forget(): Promise<void> {}
  async deleteExpired(): Promise<number> {
    return 0;
  }
  /** Nothing to reach: always healthy. */
  async ping(): Promise<void> {}
  async close(): Promise<void> {}
}
