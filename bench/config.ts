import { execFileSync } from 'node:child_process';

/**
 * Every size and address the benchmark uses, from the environment, in one place. `BENCH_QUICK=1`
 * shrinks every size for a smoke run; each size can also be set alone (BENCH_PUBLISH_TASKS…).
 */
export interface BenchConfig {
  quick: boolean;
  rabbitmqUrl: string;
  /** The Redis database of the Redis rows (BENCH_REDIS_URL); the scenario removes the keys it wrote. */
  redisUrl: string;
  /** Where our results go on Redis (BENCH_REDIS_RESULTS_URL): a database of its own, flushed after each run. */
  redisResultsUrl: string;
  /** BullMQ's database (BENCH_BULLMQ_REDIS_URL), flushed at the end. */
  bullmqRedisUrl: string;
  postgresUrl: string;
  python: string;
  /** False when /usr/bin/python3 (or CELERY_PYTHON) has no Celery: the Python columns are skipped. */
  pythonCelery: boolean;
  repeats: number;
  /** Scenario 1's runs of our and raw amqplib's subjects: each lasts about a second, so more of them keep one hiccup off the median. */
  publishRepeats: number;
  publishTasks: number;
  pythonPublishTasks: number;
  drainTasks: number;
  pythonDrainTasks: number;
  /** Drains that store every result (PostgreSQL, rpc://, scale) are slower: fewer tasks keep the run short. */
  resultDrainTasks: number;
  /** Scenario 14: tasks drained through the local SQS-compatible server, by each subject (BENCH_SQS_DRAIN_TASKS). */
  sqsDrainTasks: number;
  roundTrips: number;
  pythonRoundTrips: number;
  memoryTasks: number;
  scaleRows: number;
  /** Scenario 11: tasks published and drained (BENCH_MILLION_TASKS), and Celery's share of it. */
  millionTasks: number;
  pythonMillionTasks: number;
  /** Scenario 12: schedules due every second (BENCH_BEAT_SCHEDULES) fired by three beats for BENCH_BEAT_SECONDS. */
  beatSchedules: number;
  beatSeconds: number;
  /** Extra node flags for our worker processes (BENCH_WORKER_NODE_ARGS="--cpu-prof --cpu-prof-dir=/tmp/prof"), to profile them. */
  workerNodeArguments: string[];
}

function numberFromEnv(name: string, full: number, quick: number, isQuick: boolean): number {
  const raw = process.env[name];
  if (raw === undefined || raw === '') return isQuick ? quick : full;
  const value = Number(raw);
  if (!Number.isInteger(value) || value <= 0) throw new Error(`${name} must be a positive integer, got "${raw}"`);
  return value;
}

function hasPythonCelery(python: string): boolean {
  try {
    execFileSync(python, ['-c', 'import celery, sqlalchemy, psycopg2'], { stdio: 'ignore', timeout: 30_000 });
    return true;
  } catch {
    return false;
  }
}

export function loadConfig(): BenchConfig {
  const quick = process.env.BENCH_QUICK === '1';
  const python = process.env.CELERY_PYTHON ?? '/usr/bin/python3';
  return {
    quick,
    rabbitmqUrl: process.env.RABBITMQ_URL ?? 'amqp://guest:guest@127.0.0.1:5672',
    redisUrl: process.env.BENCH_REDIS_URL ?? 'redis://127.0.0.1:6379/10',
    // Not 7, 8, 9, 11: the test suite's (test/support/redis.ts).
    redisResultsUrl: process.env.BENCH_REDIS_RESULTS_URL ?? 'redis://127.0.0.1:6379/13',
    bullmqRedisUrl: process.env.BENCH_BULLMQ_REDIS_URL ?? 'redis://127.0.0.1:6379/14',
    postgresUrl: process.env.POSTGRES_URL ?? 'postgresql://root@127.0.0.1:5432/test',
    python,
    pythonCelery: process.env.BENCH_SKIP_PYTHON === '1' ? false : hasPythonCelery(python),
    repeats: numberFromEnv('BENCH_REPEATS', 3, 1, quick),
    publishRepeats: numberFromEnv('BENCH_PUBLISH_REPEATS', 7, 1, quick),
    publishTasks: numberFromEnv('BENCH_PUBLISH_TASKS', 20_000, 2_000, quick),
    pythonPublishTasks: numberFromEnv('BENCH_PYTHON_PUBLISH_TASKS', 3_000, 500, quick),
    drainTasks: numberFromEnv('BENCH_DRAIN_TASKS', 20_000, 5_000, quick),
    pythonDrainTasks: numberFromEnv('BENCH_PYTHON_DRAIN_TASKS', 3_000, 500, quick),
    resultDrainTasks: numberFromEnv('BENCH_RESULT_DRAIN_TASKS', 10_000, 2_000, quick),
    sqsDrainTasks: numberFromEnv('BENCH_SQS_DRAIN_TASKS', 2_000, 300, quick),
    roundTrips: numberFromEnv('BENCH_ROUND_TRIPS', 500, 100, quick),
    pythonRoundTrips: numberFromEnv('BENCH_PYTHON_ROUND_TRIPS', 40, 20, quick),
    memoryTasks: numberFromEnv('BENCH_MEMORY_TASKS', 100_000, 10_000, quick),
    scaleRows: numberFromEnv('BENCH_SCALE_ROWS', 1_000_000, 50_000, quick),
    millionTasks: numberFromEnv('BENCH_MILLION_TASKS', 1_000_000, 20_000, quick),
    pythonMillionTasks: numberFromEnv('BENCH_PYTHON_MILLION_TASKS', 100_000, 2_000, quick),
    beatSchedules: numberFromEnv('BENCH_BEAT_SCHEDULES', 10_000, 500, quick),
    beatSeconds: numberFromEnv('BENCH_BEAT_SECONDS', 20, 8, quick),
    workerNodeArguments: (process.env.BENCH_WORKER_NODE_ARGS ?? '').split(' ').filter((flag) => flag !== ''),
  };
}
