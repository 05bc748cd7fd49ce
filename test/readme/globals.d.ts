/**
 * Names the README's and docs' TypeScript blocks use without declaring them (the reader's own
 * app: its URL, its other entities, an injected client…), so every block compiles on its own.
 * test/unit/readme-examples.spec.ts compiles the blocks against this file and the package's sources.
 */
import type { CeleryClient } from '../../lib';

declare global {
  /** A PostgreSQL URL of the reader's app. */
  const url: string;
  /** The reader's broker URL. */
  const broker: string;
  /** The reader's own TypeORM entities. */
  const yours: Function[];
  /** A CeleryClient the reader injected. */
  const celery: CeleryClient;
}

export {};
