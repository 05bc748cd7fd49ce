import { CeleryError } from './celery.error';

/** GroupResult.save()/restore() on a backend that cannot store groups (rpc://, none), as in Celery. */
export class GroupResultUnsupportedError extends CeleryError {
  constructor(backendDescription: string) {
    super(
      `Groups cannot be saved or restored with the result backend ${backendDescription}. Expected a backend that ` +
        'stores groups (Celery\'s celery_tasksetmeta): use the database backend, or keep the GroupResult in memory.',
    );
  }
}
