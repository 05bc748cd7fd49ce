import type { BenchConfig } from './config';
import { BenchRow, format, TargetCheck } from './support/report';

/** The targets, each checked on the medians of this run (n/a when a row is missing). */
export function checkTargets(rows: BenchRow[], config: BenchConfig): TargetCheck[] {
  const median = (key: string) => rows.find((row) => row.key === key)?.summary.median;
  const ratio = (target: string, numerator: string, denominator: string, atLeast: number): TargetCheck => {
    const top = median(numerator);
    const bottom = median(denominator);
    if (top === undefined || bottom === undefined) return { target, measured: 'not measured', met: null };
    const value = top / bottom;
    return { target, measured: `${format(top)} / ${format(bottom)} = ${value >= 10 ? value.toFixed(1) : value.toFixed(2)}×`, met: value >= atLeast };
  };
  /** ratio() of the best of several of our subjects (their medians) to one of Celery's. */
  const bestOf = (target: string, numerators: string[], denominator: string, atLeast: number): TargetCheck => {
    const measured = numerators.filter((key) => median(key) !== undefined);
    if (measured.length === 0) return ratio(target, numerators[0], denominator, atLeast);
    const best = measured.reduce((top, key) => (median(key)! > median(top)! ? key : top));
    const check = ratio(target, best, denominator, atLeast);
    return { ...check, measured: `${check.measured} (${best})` };
  };
  /** ratio() of the best of our subjects to the best of the baselines (each by its median). */
  const bestOverBest = (target: string, numerators: string[], denominators: string[], atLeast: number): TargetCheck => {
    const best = (keys: string[]) => keys.filter((key) => median(key) !== undefined).reduce<string | undefined>((top, key) => (top === undefined || median(key)! > median(top)! ? key : top), undefined);
    const top = best(numerators) ?? numerators[0];
    const bottom = best(denominators) ?? denominators[0];
    const check = ratio(target, top, bottom, atLeast);
    return check.met === null ? check : { ...check, measured: `${check.measured} (${top} / ${bottom})` };
  };
  const atMost = (target: string, key: string, limit: number, unit: string): TargetCheck => {
    const value = median(key);
    return value === undefined ? { target, measured: 'not measured', met: null } : { target, measured: `${format(value)} ${unit}`, met: value <= limit };
  };
  const checks: TargetCheck[] = [
    ratio('Publish, single send() ≥ 80% of raw amqplib', 'publish.ours', 'publish.raw', 0.8),
    ratio('Publish, sendBulk() ≥ 90% of raw amqplib', 'publish.ours-bulk', 'publish.raw', 0.9),
    ratio('Publish ≥ 5× Celery apply_async', 'publish.ours', 'publish.python', 5),
    ratio('Drain, no result ≥ 65% of raw consumer', 'drain.ours', 'drain.raw', 0.65),
    ratio('Drain, no result ≥ 3× Celery prefork -c 2', 'drain.ours', 'drain.python-prefork', 3),
    // Like for like: Celery prefork -c 2 is two processes, so our worker CLI -P 2 may use both cores too.
    bestOf('Drain, no result ≥ 3× Celery prefork -c 2, best of our 1 or 2 processes', ['drain.ours', 'drain.ours-2p'], 'drain.python-prefork', 3),
    ratio('Drain, PostgreSQL results ≥ 10× Celery prefork -c 2 (database backend)', 'drain-pg.ours', 'drain-pg.python-prefork', 10),
    ratio('Drain, rpc:// ≥ 2.5× Celery rpc://', 'drain-rpc.ours', 'drain-rpc.python-prefork', 2.5),
    ratio('Beside BullMQ: drain with results on Redis ≥ BullMQ’s', 'bullmq.results.ours-redis', 'bullmq.results.bullmq', 1),
    ratio('Beside BullMQ: drain, RabbitMQ + PostgreSQL results ≥ 0.5× BullMQ’s with results', 'bullmq.results.ours-rabbitmq-pg', 'bullmq.results.bullmq', 0.5),
    ratio('Drain, RabbitMQ + PostgreSQL results ≥ 0.8× raw amqplib consumer, same prefetch', 'bullmq.results.ours-rabbitmq-pg', 'bullmq.drain.raw-amqplib', 0.8),
    // The broker's ceiling is the faster of one or two bare consumers; ours may use two processes as well (worker CLI -P 2).
    bestOverBest(
      'Drain, RabbitMQ + PostgreSQL results ≥ 0.8× raw amqplib consumer, best of 1 or 2 processes each',
      ['bullmq.results.ours-rabbitmq-pg', 'bullmq.results.ours-rabbitmq-pg-2p'],
      ['bullmq.drain.raw-amqplib', 'bullmq.drain.raw-amqplib-2p'],
      0.8,
    ),
  ];
  const first = median('million.first-10');
  const last = median('million.last-10');
  checks.push(
    first === undefined || last === undefined
      ? { target: 'A million tasks: the last 10% drain ≥ 90% as fast as the first', measured: 'not measured', met: null }
      : { target: 'A million tasks: the last 10% drain ≥ 90% as fast as the first', measured: `${format(first)} → ${format(last)} tasks/s`, met: last >= first * 0.9 },
  );
  const lost = median('million.lost');
  const duplicates = median('million.duplicates');
  checks.push(
    lost === undefined
      ? { target: 'A million tasks: none lost', measured: 'not measured', met: null }
      : { target: 'A million tasks: none lost', measured: `${lost} lost, ${duplicates} run twice`, met: lost === 0 },
  );
  const early10 = median('million.memory-10');
  const late90 = median('million.memory-90');
  checks.push(
    early10 === undefined || late90 === undefined
      ? { target: 'A million tasks: worker memory flat (±10%)', measured: 'not measured', met: null }
      : { target: 'A million tasks: worker memory flat (±10%)', measured: `${format(early10)} → ${format(late90)} MiB`, met: Math.abs(late90 - early10) <= early10 * 0.1 },
  );
  const oursStart = median('start-up.ours');
  const pythonStart = median('start-up.python');
  checks.push(
    oursStart === undefined || pythonStart === undefined
      ? { target: 'Start-up to consuming ≤ Celery’s', measured: 'not measured', met: null }
      : { target: 'Start-up to consuming ≤ Celery’s', measured: `${format(oursStart)} ms vs ${format(pythonStart)} ms`, met: oursStart <= pythonStart },
  );
  const testingStart = median('start-up.testing-module');
  checks.push(
    testingStart === undefined
      ? { target: 'CeleryTestingModule starts in < 200 ms', measured: 'not measured', met: null }
      : { target: 'CeleryTestingModule starts in < 200 ms', measured: `${format(testingStart)} ms`, met: testingStart < 200 },
  );
  checks.push(
    atMost('Idle worker ≤ 80 MiB (no result backend)', 'start-up.idle-rss', 80, 'MiB'),
    atMost('Idle worker ≤ 80 MiB (PostgreSQL results)', 'start-up.idle-rss-postgres', 80, 'MiB'),
  );
  const oursRoundTrip = median('bullmq.rt.ours.p50');
  const bullRoundTrip = median('bullmq.rt.bullmq.p50');
  checks.push(
    oursRoundTrip === undefined || bullRoundTrip === undefined
      ? { target: 'Round trip p50 on Redis ≤ BullMQ’s', measured: 'not measured', met: null }
      : { target: 'Round trip p50 on Redis ≤ BullMQ’s', measured: `${format(oursRoundTrip)} ms vs ${format(bullRoundTrip)} ms`, met: oursRoundTrip <= bullRoundTrip },
  );
  const oursRpc = median('rt-rpc.ours.p50');
  const pythonRpc = median('rt-rpc.python.p50');
  checks.push(
    oursRpc === undefined || pythonRpc === undefined
      ? { target: 'Round trip rpc:// p50 ≤ Celery’s', measured: 'not measured', met: null }
      : { target: 'Round trip rpc:// p50 ≤ Celery’s', measured: `${format(oursRpc)} ms vs ${format(pythonRpc)} ms`, met: oursRpc <= pythonRpc },
    atMost('Round trip PostgreSQL p50 ≤ 3 ms', 'rt-postgres.ours.p50', 3, 'ms'),
    atMost('Round trip PostgreSQL p99 ≤ 10 ms', 'rt-postgres.ours.p99', 10, 'ms'),
    atMost(`Memory < 150 MB with ${config.memoryTasks.toLocaleString('en-US')} queued (peak RSS)`, 'memory.peak', 150 / 1.048576, 'MiB'),
  );
  const early = median('memory.early');
  const late = median('memory.late');
  checks.push(
    early === undefined || late === undefined
      ? { target: 'Memory flat across the drain (±10%)', measured: 'not measured', met: null }
      : { target: 'Memory flat across the drain (±10%)', measured: `${format(early)} → ${format(late)} MiB`, met: Math.abs(late - early) <= early * 0.1 },
  );
  const empty = median('scale.rt-empty');
  const full = median('scale.rt-full');
  checks.push(
    empty === undefined || full === undefined
      ? { target: `${config.scaleRows.toLocaleString('en-US')} stored results make get() slower by < 20%`, measured: 'not measured', met: null }
      : {
          target: `${config.scaleRows.toLocaleString('en-US')} stored results make get() slower by < 20%`,
          measured: `p50 ${format(empty)} → ${format(full)} ms (${((full / empty - 1) * 100).toFixed(0)}%)`,
          // Faster is fine (a noisy machine); the target is about not slowing down.
          met: full / empty - 1 < 0.2,
        },
  );
  return checks;
}
