import type { DataSource } from 'typeorm';
import { newDataSource } from '../backend/database/celery-result-schema';
import { migrationsAdvice, runCeleryMigrations } from '../backend/database/migrations/run-celery-migrations';
import { describeDatabaseError } from '../backend/database/postgres-errors';
import { toNodePostgresUrl } from '../backend/database/postgres-url';
import type { CeleryClient } from '../client/celery-client';
import { BeatConfigurationError } from '../errors/beat-configuration.error';
import { celeryOutboxMigrations } from '../outbox/create-celery-outbox.migration';
import type { TaskRegistry } from '../task/task-registry';
import type { BeatScheduleEntry } from '../task/task-schedule';
import type { CeleryLogger } from '../utils/logger';
import { maskUrl } from '../utils/mask-secrets';
import { requireOptionalPackages } from '../utils/optional-package';
import type { ResolvedBeatOptions } from './beat-options';
import { BeatListener, CeleryBeat } from './celery-beat';
import { CodeScheduleRow, codeScheduleRow } from './store/code-schedule-rows';
import { celeryBeatMigrations } from './store/beat-migrations';

const BEAT = 'The beat (beat option)';

export interface BeatRunnerDependencies {
  options: ResolvedBeatOptions;
  client: CeleryClient;
  registry: TaskRegistry;
  logger: CeleryLogger;
  listeners?: readonly BeatListener[];
}

/**
 * The beat of a process, from start-up to shutdown: opens the schedule database (its own from a
 * URL, or the app's DataSource), migrates it when asked, gathers the code's schedules (the
 * `beat.schedule` option and every `@CeleryTask({ schedule })`, registered by then) and runs the
 * CeleryBeat. Misconfiguration throws BeatConfigurationError or InvalidScheduleError from start().
 */
export class BeatRunner {
  private beat: CeleryBeat | null = null;
  private ownDataSource: DataSource | null = null;
  private readonly listeners: BeatListener[];

  constructor(private readonly deps: BeatRunnerDependencies) {
    if (deps.options.url === undefined && deps.options.dataSource === undefined) {
      throw new BeatConfigurationError(
        'The beat needs the PostgreSQL database of its schedule tables: give beat: { url: \'postgresql://…\' } or beat: { dataSource }, ' +
          'or use a PostgreSQL result backend (its database is the default). Every beat of a deployment must use the same one.',
      );
    }
    requireOptionalPackages(deps.options.url !== undefined ? ['typeorm', 'pg'] : ['typeorm'], BEAT);
    this.listeners = [...(deps.listeners ?? [])];
  }

  /** Also tell `listener` of every run fired from now on (the benchmark measures lag this way). */
  addListener(listener: BeatListener): void {
    this.listeners.push(listener);
  }

  async start(): Promise<void> {
    if (this.beat) return;
    const { options, client, logger } = this.deps;
    const codeRows = this.codeRows();
    const dataSource = await this.openDataSource();
    if (options.migrationsRun) {
      try {
        await runCeleryMigrations(dataSource, [...celeryOutboxMigrations, ...celeryBeatMigrations]);
      } catch (error) {
        throw new BeatConfigurationError(`Could not create the beat's tables: ${describeDatabaseError(error)}. ${migrationsAdvice('beat.migrationsRun')}`, { cause: error });
      }
    }
    this.beat = new CeleryBeat({
      options,
      dataSource,
      codeRows,
      prepare: (task, args, sendOptions) => client.prepare(task, args, sendOptions),
      publish: (prepared) => client.publishPrepared(prepared),
      logger,
      listeners: this.listeners,
    });
    await this.beat.start();
  }

  async stop(): Promise<void> {
    await this.beat?.stop();
    this.beat = null;
    await this.ownDataSource?.destroy();
    this.ownDataSource = null;
  }

  /** The module's `beat.schedule`, then each task's own `schedule`; one name, one entry. */
  private codeRows(): CodeScheduleRow[] {
    const { options, registry } = this.deps;
    const entries = new Map<string, BeatScheduleEntry>(Object.entries(options.schedule));
    for (const name of registry.appTaskNames()) {
      const schedule = registry.get(name)?.options.schedule;
      if (schedule === undefined) continue;
      const isEntry = typeof schedule === 'object' && schedule !== null && 'schedule' in schedule;
      const { name: entryName, ...entry } = isEntry ? schedule : { name: undefined, schedule };
      const key = entryName ?? name;
      if (entries.has(key)) throw new BeatConfigurationError(`Two schedules are named '${key}' (beat.schedule and @CeleryTask({ schedule }) of ${name}): give one a name of its own`);
      entries.set(key, { ...entry, task: name });
    }
    return [...entries].map(([name, entry]) => codeScheduleRow(name, entry, options.timezone, options.scheduleRules));
  }

  private async openDataSource(): Promise<DataSource> {
    const { url, dataSource } = this.deps.options;
    if (dataSource) {
      if (!dataSource.isInitialized) await dataSource.initialize();
      return dataSource;
    }
    const own = newDataSource({ type: 'postgres', url: toNodePostgresUrl(url!), applicationName: 'nestjs-celery beat' }, BEAT);
    try {
      await own.initialize();
    } catch (error) {
      throw new BeatConfigurationError(
        `Could not connect to the beat's database at ${maskUrl(url!)}: ${describeDatabaseError(error)}. Expected a reachable PostgreSQL server; check beat.url (or the result backend's URL).`,
        { cause: error },
      );
    }
    this.ownDataSource = own;
    return own;
  }
}
