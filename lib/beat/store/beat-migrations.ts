import { CreateDjangoCeleryBeatTables1768000000000 } from './create-django-beat-tables.migration';
import { KeepDjangoBeatRecordedRuns1769000000000 } from './keep-recorded-runs.migration';

/** The beat's migrations, for `runCeleryMigrations()` in your own pipeline (docs/MIGRATIONS.md). */
export const celeryBeatMigrations = [CreateDjangoCeleryBeatTables1768000000000, KeepDjangoBeatRecordedRuns1769000000000];
