import { CeleryError } from './celery.error';

/** CeleryModule options that cannot work; raised at start-up, listing every problem found. */
export class InvalidCeleryOptionsError extends CeleryError {
  constructor(readonly problems: string[]) {
    super(`CeleryModule options are invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}
