/** Base class of every error this module throws, so callers can catch them as one family. */
export class CeleryError extends Error {
  constructor(message: string, options?: { cause?: unknown }) {
    super(message, options);
    this.name = new.target.name;
  }
}
