import { CeleryError } from './celery.error';

/** A signature was applied that knows no CeleryClient to send itself through. */
export class UnboundSignatureError extends CeleryError {
  constructor(taskName: string) {
    super(
      `The signature of ${taskName} cannot be sent: it is not bound to a CeleryClient. Expected a signature made ` +
        'with celery.signature(...), or a workflow containing one. Create it through the injected CeleryClient, ' +
        'or call signature.bind(celery) first.',
    );
  }
}
