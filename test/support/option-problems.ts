import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { InvalidCeleryOptionsError } from '../../lib/errors/invalid-celery-options.error';

/**
 * What validateCeleryOptions says is wrong with `options` (one line each); empty when it accepts
 * them. A broker is required: options that do not mention one get the in-process `memory://`, so
 * each test sees only the problems it is about.
 */
export function problemsOf(options: unknown): string[] {
  const withBroker = typeof options === 'object' && options !== null && !('broker' in options) ? { broker: 'memory://', ...options } : options;
  try {
    validateCeleryOptions(withBroker as never);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCeleryOptionsError);
    return (error as InvalidCeleryOptionsError).problems;
  }
}
