import { Client } from 'pg';
import { DataSource, MigrationInterface, QueryRunner } from 'typeorm';
import { DatabaseResultBackend } from '../../lib/backend/database/database-result-backend';
import { acquireEmbeddedDataSource } from '../../lib/backend/database/embedded-data-source';
import { celeryResultEntities } from '../../lib/backend/database/entities';
import { celeryResultMigrations } from '../../lib/backend/database/migrations';
import { MIGRATION_LOCK_KEY } from '../../lib/backend/database/migrations/migration-lock';
import { runCeleryMigrations } from '../../lib/backend/database/migrations/run-celery-migrations';
import { PostgresTaskHistoryStore } from '../../lib/monitoring/history/task-history-store';
import { celeryDashboardMigrations } from '../../lib/monitoring/history/create-task-history.migration';
import { celeryOutboxMigrations } from '../../lib/outbox/create-celery-outbox.migration';
import { CeleryOutbox } from '../../lib/outbox/celery-outbox';
import { resolveOutboxOptions } from '../../lib/outbox/outbox-options';
import { SILENT_LOGGER } from '../../lib/utils/logger';
import { createTestDatabase, querySql, TestDatabase } from '../support/postgres';

/** A migration of the application's own, as `typeorm migration:generate` would write it. */
class CreateOrders1700000000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('CREATE TABLE orders (id serial PRIMARY KEY, sku text NOT NULL)');
  }
  async down(queryRunner: QueryRunner): Promise<void> {
    await queryRunner.query('DROP TABLE orders');
  }
}

/**
 * The names earlier releases recorded in the app's `migrations` table (the outbox's and the
 * dashboard's shared a timestamp).
 */
const LEGACY_NAMES = [
  'CreateCeleryResultTables1732435200000',
  'CreateCeleryRevokedTasks1764000000000',
  'CreateCeleryChordCounters1765000000000',
  'CreateCeleryOutbox1766000000000',
  'CreateCeleryTaskHistory1766000000000',
];

/** Our migrations as an earlier release shipped them (before the date_done indexes and the progress triggers): the same statements, under the names it recorded. */
const legacyMigrations = [...celeryResultMigrations.slice(0, 3), ...celeryOutboxMigrations, ...celeryDashboardMigrations].map((Migration, index) => {
  const name = LEGACY_NAMES[index];
  return class extends Migration {
    override name = name;
  };
});

/** Every migration we ship, under its current name, in the order the parts run them. */
const ALL_MIGRATIONS = [...celeryResultMigrations, ...celeryOutboxMigrations, ...celeryDashboardMigrations];
const RESULT_NAMES = [
  'CreateCeleryResultTables1732435200000',
  'CreateCeleryRevokedTasks1764000000000',
  'CreateCeleryChordCounters1765000000000',
  'CeleryDateDoneIndexes1768000000000',
  'NotifyCeleryTaskProgress1768300000000',
];
const CURRENT_NAMES = [...RESULT_NAMES, 'CreateCeleryOutbox1766000000000', 'CreateCeleryTaskHistory1767000000000'];
/** The order TypeORM's CLI runs them in: by timestamp. */
const CLI_ORDER = [...CURRENT_NAMES].sort((a, b) => Number(a.slice(-13)) - Number(b.slice(-13)));

/** Whether the trigger our first migration creates is there: a marker of whether that migration ran again. */
async function staleResultJsonTriggers(url: string): Promise<number> {
  const [{ count }] = await querySql(url, "SELECT count(*)::int AS count FROM pg_trigger WHERE tgname = 'celery_taskmeta_result_json_stale'");
  return count;
}

/** The docs/MIGRATIONS.md recipe: a migration of the app's own that runs ours inside its pipeline. */
class CeleryTables1767500000000 implements MigrationInterface {
  async up(queryRunner: QueryRunner): Promise<void> {
    await runCeleryMigrations(queryRunner, [...celeryResultMigrations, ...celeryOutboxMigrations, ...celeryDashboardMigrations]);
  }
  async down(): Promise<void> {}
}

function appDataSource(url: string, migrations: Function[] = [CreateOrders1700000000000]): DataSource {
  return new DataSource({ type: 'postgres', url, entities: [...celeryResultEntities], migrations });
}

/** Holds our migration lock on a connection of its own until released. */
async function lockMigrations(url: string): Promise<{ release(): Promise<void> }> {
  const client = new Client({ connectionString: url });
  await client.connect();
  await client.query(`SELECT pg_advisory_lock(${MIGRATION_LOCK_KEY})`);
  return { release: () => client.end() };
}

/** Names in `table`, in the order recorded; an empty list when the table does not exist. */
async function tableNames(url: string, table: string): Promise<string[]> {
  const [{ exists }] = await querySql(url, 'SELECT to_regclass($1) IS NOT NULL AS exists', [table]);
  if (!exists) return [];
  return (await querySql(url, `SELECT name FROM ${table} ORDER BY id`)).map((row) => row.name);
}

describe("our migrations stay out of the application's migrations table", () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase('celery_migrations');
  });

  afterEach(async () => {
    await database?.drop();
  });

  it("leaves the app's undoLastMigration() working when the backend has its own URL to the app's database (issue #14)", async () => {
    const app = appDataSource(database.url);
    await app.initialize();
    try {
      await app.runMigrations();
      const backend = new DatabaseResultBackend({ url: database.url });
      await backend.connect();
      await backend.close();

      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000']);
      expect(await tableNames(database.url, 'celery_migrations')).toEqual(RESULT_NAMES);
      await app.undoLastMigration(); // failed with "No migration CreateCeleryChordCounters1765000000000 was found in the source code"
      expect(await tableNames(database.url, 'migrations')).toEqual([]);
      expect(await querySql(database.url, "SELECT to_regclass('orders') AS orders")).toEqual([{ orders: null }]);
    } finally {
      await app.destroy();
    }
  });

  it("runs ours on the app's own DataSource (the @nestjs/typeorm recipe) without writing its migrations table", async () => {
    const app = appDataSource(database.url);
    await app.initialize();
    try {
      await app.runMigrations();
      const backend = new DatabaseResultBackend({ dataSource: app });
      await backend.connect();
      await new PostgresTaskHistoryStore(app).prepare();
      const outbox = new CeleryOutbox(null as never, resolveOutboxOptions({ dataSource: app, relay: false }), SILENT_LOGGER);
      await outbox.start();
      await backend.close();

      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000']);
      expect((await tableNames(database.url, 'celery_migrations')).sort()).toEqual([...CURRENT_NAMES].sort());
      await app.undoLastMigration();
      expect(await tableNames(database.url, 'migrations')).toEqual([]);
    } finally {
      await app.destroy();
    }
  });

  it("moves the records an earlier release left in the app's migrations table, without running those migrations again", async () => {
    // Before the upgrade: the app listed our migrations in its own DataSource, as the README said.
    const before = appDataSource(database.url, [CreateOrders1700000000000, ...legacyMigrations]);
    await before.initialize();
    await before.runMigrations();
    await before.destroy();
    expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000', ...LEGACY_NAMES]);
    // A marker: had the first migration run again, it would have created the trigger again.
    await querySql(database.url, 'DROP TRIGGER celery_taskmeta_result_json_stale ON celery_taskmeta');

    // After: the app lists only its own migrations and shares its DataSource with us.
    const app = appDataSource(database.url);
    await app.initialize();
    try {
      await expect(app.undoLastMigration()).rejects.toThrow('No migration CreateCeleryTaskHistory1766000000000 was found in the source code');
      const backend = new DatabaseResultBackend({ dataSource: app });
      await backend.connect();
      await new PostgresTaskHistoryStore(app).prepare();
      const outbox = new CeleryOutbox(null as never, resolveOutboxOptions({ dataSource: app, relay: false }), SILENT_LOGGER); // no relay: no client needed
      await outbox.start();
      await backend.close();

      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000']);
      expect((await tableNames(database.url, 'celery_migrations')).sort()).toEqual([...CURRENT_NAMES].sort());
      expect(await staleResultJsonTriggers(database.url)).toBe(0);
      await app.undoLastMigration();
      expect(await tableNames(database.url, 'migrations')).toEqual([]);
    } finally {
      await app.destroy();
    }
  });

  it("moves the records an earlier release's URL backend left in the app's migrations table", async () => {
    const app = appDataSource(database.url);
    await app.initialize();
    try {
      await app.runMigrations();
      // What an earlier release's backend did with `url`: a DataSource of its own, TypeORM's default table.
      const earlier = new DataSource({ type: 'postgres', url: database.url, migrations: legacyMigrations.slice(0, 3) });
      await earlier.initialize();
      await earlier.runMigrations({ transaction: 'all' });
      await earlier.destroy();
      await querySql(database.url, 'DROP TRIGGER celery_taskmeta_result_json_stale ON celery_taskmeta');

      const backend = new DatabaseResultBackend({ url: database.url });
      await backend.connect();
      await backend.close();

      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000']);
      expect(await tableNames(database.url, 'celery_migrations')).toEqual(RESULT_NAMES);
      expect(await staleResultJsonTriggers(database.url)).toBe(0);
      await app.undoLastMigration();
    } finally {
      await app.destroy();
    }
  });

  it('leaves the records of our migrations an app still lists in its own DataSource, and does not run them again', async () => {
    const app = appDataSource(database.url, [CreateOrders1700000000000, ...celeryResultMigrations]);
    await app.initialize();
    try {
      await app.runMigrations();
      await querySql(database.url, 'DROP TRIGGER celery_taskmeta_result_json_stale ON celery_taskmeta');
      const backend = new DatabaseResultBackend({ dataSource: app });
      await backend.connect();
      await backend.close();

      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000', ...RESULT_NAMES]);
      expect(await tableNames(database.url, 'celery_migrations')).toEqual(RESULT_NAMES);
      expect(await staleResultJsonTriggers(database.url)).toBe(0);
    } finally {
      await app.destroy();
    }
  });

  it('prepares a fresh database from every part starting at once, each migration run and recorded once', async () => {
    const app = appDataSource(database.url, [CreateOrders1700000000000, CeleryTables1767500000000]);
    await app.initialize();
    const backends = [
      ...Array.from({ length: 3 }, () => new DatabaseResultBackend({ url: database.url })),
      new DatabaseResultBackend({ dataSource: app }),
    ];
    const outbox = new CeleryOutbox(null as never, resolveOutboxOptions({ url: database.url, relay: false }), SILENT_LOGGER);
    try {
      const outcomes = await Promise.allSettled([
        ...backends.map((backend) => backend.connect()),
        outbox.start(),
        new PostgresTaskHistoryStore(app).prepare(),
        app.runMigrations(), // the app's pipeline, running ours inside its own transaction
      ]);
      expect(outcomes.filter((outcome) => outcome.status === 'rejected')).toEqual([]);
      expect((await tableNames(database.url, 'celery_migrations')).sort()).toEqual([...CURRENT_NAMES].sort());
      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000', 'CeleryTables1767500000000']);
    } finally {
      for (const backend of backends) await backend.close();
      await outbox.stop();
      await app.destroy();
    }
  });

  it('keeps every migration idempotent: each runs twice over its own result without error or change', async () => {
    const dataSource = new DataSource({ type: 'postgres', url: database.url, entities: [...celeryResultEntities] });
    await dataSource.initialize();
    const runner = dataSource.createQueryRunner();
    try {
      for (const Migration of ALL_MIGRATIONS) await new Migration().up(runner);
      const schema = async () => [
        await dataSource.query(`SELECT table_name, column_name, data_type, column_default FROM information_schema.columns
                                WHERE table_schema = 'public' ORDER BY table_name, ordinal_position`),
        await dataSource.query(`SELECT indexdef FROM pg_indexes WHERE schemaname = 'public' ORDER BY indexdef`),
        await dataSource.query(`SELECT tgname, tgrelid::regclass::text AS on_table FROM pg_trigger WHERE NOT tgisinternal ORDER BY tgname`),
      ];
      const once = await schema();
      for (const Migration of ALL_MIGRATIONS) await new Migration().up(runner);
      expect(await schema()).toEqual(once);
    } finally {
      await runner.release();
      await dataSource.destroy();
    }
  });
});

describe("running ours from the app's own migration pipeline (docs/MIGRATIONS.md)", () => {
  let database: TestDatabase;

  beforeEach(async () => {
    database = await createTestDatabase('celery_migrations_pipeline');
  });

  afterEach(async () => {
    await database?.drop();
  });

  it('runs them from a migration of the app, and nothing at start-up with migrationsRun: false', async () => {
    const app = appDataSource(database.url, [CreateOrders1700000000000, CeleryTables1767500000000]);
    await app.initialize();
    try {
      await app.runMigrations();
      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000', 'CeleryTables1767500000000']);
      expect(await tableNames(database.url, 'celery_migrations')).toEqual(CURRENT_NAMES);

      // Start-up DDL would need this lock: held elsewhere, a start-up that tried to migrate would hang.
      const blocker = await lockMigrations(database.url);
      try {
        const backend = new DatabaseResultBackend({ dataSource: app, migrationsRun: false });
        await backend.connect();
        await new PostgresTaskHistoryStore(app).prepare(); // everything recorded: reads only
        await new CeleryOutbox(null as never, resolveOutboxOptions({ dataSource: app, relay: false, migrationsRun: false }), SILENT_LOGGER).start();
        await backend.close();
      } finally {
        await blocker.release();
      }

      await app.undoLastMigration(); // the app's own migration; ours stay applied
      expect(await tableNames(database.url, 'migrations')).toEqual(['CreateOrders1700000000000']);
    } finally {
      await app.destroy();
    }
  });

  it("shares celery_migrations with TypeORM's CLI, either way round", async () => {
    // The CLI recipe: a DataSource of ours for `typeorm migration:run -d …`.
    const cli = new DataSource({ type: 'postgres', url: database.url, migrations: ALL_MIGRATIONS, migrationsTableName: 'celery_migrations' });
    await cli.initialize();
    try {
      // TypeORM runs them in timestamp order, so the progress triggers (1768300000000) come last.
      expect((await cli.runMigrations()).map((migration) => migration.name)).toEqual(CLI_ORDER);
      expect(await runCeleryMigrations(cli, ALL_MIGRATIONS)).toEqual([]);

      await cli.undoLastMigration();
      expect(await querySql(database.url, "SELECT count(*)::integer AS triggers FROM pg_trigger WHERE tgname LIKE 'celery_taskmeta_progress_%'")).toEqual([{ triggers: 0 }]);
      expect(await runCeleryMigrations(cli, ALL_MIGRATIONS)).toEqual(['NotifyCeleryTaskProgress1768300000000']);
      expect(await querySql(database.url, "SELECT count(*)::integer AS triggers FROM pg_trigger WHERE tgname LIKE 'celery_taskmeta_progress_%'")).toEqual([{ triggers: 2 }]);
      expect(await cli.showMigrations()).toBe(false); // TypeORM reads our record: nothing pending
      expect(await tableNames(database.url, 'migrations')).toEqual([]);
    } finally {
      await cli.destroy();
    }
  });
});

describe('the embedded database', () => {
  it('records our migrations in celery_migrations too', async () => {
    const lease = await acquireEmbeddedDataSource(undefined);
    try {
      const rows: { name: string }[] = await lease.dataSource.query('SELECT name FROM celery_migrations ORDER BY id');
      expect(rows.map((row) => row.name)).toEqual(RESULT_NAMES);
      expect(await lease.dataSource.query("SELECT to_regclass('migrations') AS migrations")).toEqual([{ migrations: null }]);
    } finally {
      await lease.release();
    }
  }, 60_000);
});
