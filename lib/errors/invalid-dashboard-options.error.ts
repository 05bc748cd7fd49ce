import { CeleryError } from './celery.error';

/** CeleryDashboardModule options that cannot work; raised at start-up, listing every problem found. */
export class InvalidDashboardOptionsError extends CeleryError {
  constructor(readonly problems: string[]) {
    super(`CeleryDashboardModule options are invalid:\n${problems.map((problem) => `  - ${problem}`).join('\n')}`);
  }
}
