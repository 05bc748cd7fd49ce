import { CeleryError } from './celery.error';

/** `CeleryOutbox.enqueue` called while the module has no `outbox` option. */
export class OutboxNotConfiguredError extends CeleryError {
  constructor() {
    super(
      'CeleryOutbox.enqueue() needs the `outbox` option of CeleryModule, e.g. `outbox: { dataSource }` with the ' +
        'TypeORM DataSource your transactions run on, so its table exists and a relay publishes what you enqueue.',
    );
  }
}
