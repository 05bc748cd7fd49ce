import { MigrationInterface, QueryRunner } from 'typeorm';
import { MIGRATION_LOCK_KEY } from '../../backend/database/migrations/migration-lock';
import { BeatChangeNotice as N, DjangoBeatTables as T } from './django-beat-tables';
import { createTriggerIfMissing } from '../../backend/database/migrations/create-trigger-if-missing';

/**
 * Creates django-celery-beat 2.4.0's tables as its Django migrations 0001–0016 leave them (same
 * columns, constraints and indexes), unless Django made them already, and adds the triggers that
 * NOTIFY the beats of every change an admin makes. A change of `last_run_at` / `total_run_count`
 * alone (a beat firing) notifies nobody. A project that later adds Django runs
 * `manage.py migrate django_celery_beat --fake` (the tables are 2.4.0's, as its migrations 0001–0016 leave them).
 */
export class CreateDjangoCeleryBeatTables1768000000000 implements MigrationInterface {
  name = 'CreateDjangoCeleryBeatTables1768000000000';

  async up(queryRunner: QueryRunner): Promise<void> {
    const run = (sql: string) => queryRunner.query(sql);
    await run(`SELECT pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.clocked} (id serial NOT NULL PRIMARY KEY, clocked_time timestamp with time zone NOT NULL)`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.crontab} (
      id serial NOT NULL PRIMARY KEY, minute varchar(240) NOT NULL, hour varchar(96) NOT NULL, day_of_week varchar(64) NOT NULL,
      day_of_month varchar(124) NOT NULL, month_of_year varchar(64) NOT NULL, timezone varchar(63) NOT NULL)`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.interval} (id serial NOT NULL PRIMARY KEY, every integer NOT NULL, period varchar(24) NOT NULL)`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.solar} (
      id serial NOT NULL PRIMARY KEY, event varchar(24) NOT NULL, latitude numeric(9, 6) NOT NULL, longitude numeric(9, 6) NOT NULL,
      CONSTRAINT django_celery_beat_solar_event_latitude_longitude_ba64999a_uniq UNIQUE (event, latitude, longitude))`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.periodicTasksChanged} (ident smallint NOT NULL PRIMARY KEY, last_update timestamp with time zone NOT NULL)`);
    await run(`CREATE TABLE IF NOT EXISTS ${T.periodicTask} (
      id serial NOT NULL PRIMARY KEY,
      name varchar(200) NOT NULL CONSTRAINT django_celery_beat_periodictask_name_key UNIQUE,
      task varchar(200) NOT NULL, args text NOT NULL, kwargs text NOT NULL,
      queue varchar(200) NULL, exchange varchar(200) NULL, routing_key varchar(200) NULL,
      expires timestamp with time zone NULL, enabled boolean NOT NULL, last_run_at timestamp with time zone NULL,
      total_run_count integer NOT NULL CONSTRAINT django_celery_beat_periodictask_total_run_count_check CHECK (total_run_count >= 0),
      date_changed timestamp with time zone NOT NULL, description text NOT NULL,
      crontab_id integer NULL CONSTRAINT django_celery_beat_p_crontab_id_d3cba168_fk_django_ce REFERENCES ${T.crontab} (id) DEFERRABLE INITIALLY DEFERRED,
      interval_id integer NULL CONSTRAINT django_celery_beat_p_interval_id_a8ca27da_fk_django_ce REFERENCES ${T.interval} (id) DEFERRABLE INITIALLY DEFERRED,
      solar_id integer NULL CONSTRAINT django_celery_beat_p_solar_id_a87ce72c_fk_django_ce REFERENCES ${T.solar} (id) DEFERRABLE INITIALLY DEFERRED,
      one_off boolean NOT NULL, start_time timestamp with time zone NULL,
      priority integer NULL CONSTRAINT django_celery_beat_periodictask_priority_check CHECK (priority >= 0),
      headers text NOT NULL,
      clocked_id integer NULL CONSTRAINT django_celery_beat_p_clocked_id_47a69f82_fk_django_ce REFERENCES ${T.clocked} (id) DEFERRABLE INITIALLY DEFERRED,
      expire_seconds integer NULL CONSTRAINT django_celery_beat_periodictask_expire_seconds_check CHECK (expire_seconds >= 0))`);
    for (const [column, suffix] of [['clocked_id', '47a69f82'], ['crontab_id', 'd3cba168'], ['interval_id', 'a8ca27da'], ['solar_id', 'a87ce72c']]) {
      await run(`CREATE INDEX IF NOT EXISTS ${T.periodicTask}_${column}_${suffix} ON ${T.periodicTask} (${column})`);
    }
    await run(`CREATE INDEX IF NOT EXISTS ${T.periodicTask}_name_265a36b7_like ON ${T.periodicTask} (name varchar_pattern_ops)`);
    await run(`
      CREATE OR REPLACE FUNCTION ${N.taskFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        -- A beat recording a run changes only these: no other beat needs to reload for it.
        IF TG_OP = 'UPDATE' AND (to_jsonb(NEW) - 'last_run_at' - 'total_run_count' - 'date_changed')
            = (to_jsonb(OLD) - 'last_run_at' - 'total_run_count' - 'date_changed') THEN
          RETURN NULL;
        END IF;
        PERFORM pg_notify('${N.channel}', TG_TABLE_NAME);
        RETURN NULL;
      END
      $$`);
    await run(`
      CREATE OR REPLACE FUNCTION ${N.scheduleFunction}() RETURNS trigger LANGUAGE plpgsql AS $$
      BEGIN
        PERFORM pg_notify('${N.channel}', TG_TABLE_NAME);
        RETURN NULL;
      END
      $$`);
    const onChange = { name: N.trigger, timing: 'AFTER INSERT OR UPDATE OR DELETE' } as const;
    await createTriggerIfMissing(queryRunner, { ...onChange, table: T.periodicTask, level: 'ROW', fn: N.taskFunction });
    for (const table of [T.interval, T.crontab, T.clocked, T.solar]) await createTriggerIfMissing(queryRunner, { ...onChange, table, level: 'STATEMENT', fn: N.scheduleFunction });
  }

  /** Only our triggers go: the tables may be Django's, with an admin's schedules in them. */
  async down(queryRunner: QueryRunner): Promise<void> {
    for (const table of [T.periodicTask, T.interval, T.crontab, T.clocked, T.solar]) await queryRunner.query(`DROP TRIGGER IF EXISTS ${N.trigger} ON ${table}`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${N.taskFunction}()`);
    await queryRunner.query(`DROP FUNCTION IF EXISTS ${N.scheduleFunction}()`);
  }
}
