import { validateCeleryOptions } from '../../lib/runtime/validate-options';
import { InvalidCeleryOptionsError } from '../../lib/errors/invalid-celery-options.error';

/** What validateCeleryOptions says is wrong with `options` (one line each); empty when it accepts them. */
export function problemsOf(options: unknown): string[] {
  try {
    validateCeleryOptions(options as never);
    return [];
  } catch (error) {
    expect(error).toBeInstanceOf(InvalidCeleryOptionsError);
    return (error as InvalidCeleryOptionsError).problems;
  }
}
