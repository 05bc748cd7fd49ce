import { CeleryError } from './celery.error';

/**
 * A configured part of the module needs a package the app has not installed. The optional parts
 * (Redis, PostgreSQL results and outbox, the embedded database, metrics) are optional peer
 * dependencies, installed only by the apps that use them; the message names the package and the
 * command that installs it.
 */
export class MissingPackageError extends CeleryError {
  constructor(
    /** The packages to install, e.g. `['ioredis']`. */
    readonly packageNames: readonly string[],
    /** What needs them, e.g. `The redis:// broker`. */
    readonly neededBy: string,
  ) {
    const quoted = packageNames.map((name) => `"${name}"`).join(' and ');
    const verb = packageNames.length === 1 ? 'is' : 'are';
    super(
      `${neededBy} needs ${quoted}, which ${verb} not installed. nestjs-celery leaves optional parts to the apps ` +
        `that use them (optional peer dependencies). Install ${packageNames.length === 1 ? 'it' : 'them'}: npm install ${packageNames.join(' ')}`,
    );
  }
}
