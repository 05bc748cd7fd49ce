import type { BenchRow } from './report';

/** One group of bars: rows measured in one unit, compared with each other. */
interface ChartGroup {
  title: string;
  unit: string;
  /** Row keys with the label each bar gets; rows not measured in this run are left out. */
  bars: { key: string; label: string }[];
}

/** What the README's chart compares: each group same unit, same run. */
const GROUPS: ChartGroup[] = [
  {
    title: 'Drain with every result stored (one worker, concurrency 10)',
    unit: 'tasks/s',
    bars: [
      { key: 'bullmq.results.ours-redis', label: 'nestjs-celery, Redis' },
      { key: 'bullmq.results.bullmq', label: 'BullMQ, Redis' },
      { key: 'bullmq.results.ours-rabbitmq-pg', label: 'nestjs-celery, RabbitMQ + PostgreSQL' },
      { key: 'drain-pg.ours', label: 'nestjs-celery, RabbitMQ + PostgreSQL (noop)' },
      { key: 'drain-pg.python-prefork', label: 'Celery prefork -c 2, RabbitMQ + PostgreSQL' },
    ],
  },
  {
    title: 'Drain without results',
    unit: 'tasks/s',
    bars: [
      { key: 'bullmq.drain.ours-redis', label: 'nestjs-celery, Redis' },
      { key: 'bullmq.drain.bullmq', label: 'BullMQ, Redis' },
      { key: 'drain.ours', label: 'nestjs-celery, RabbitMQ' },
      { key: 'drain.raw', label: 'raw amqplib consumer, RabbitMQ' },
      { key: 'drain.python-prefork', label: 'Celery prefork -c 2, RabbitMQ' },
    ],
  },
  {
    title: 'Publish',
    unit: 'tasks/s',
    bars: [
      { key: 'publish.ours-bulk', label: 'nestjs-celery sendBulk(), RabbitMQ' },
      { key: 'publish.ours', label: 'nestjs-celery send(), RabbitMQ' },
      { key: 'publish.raw', label: 'raw amqplib, RabbitMQ' },
      { key: 'publish.python', label: 'Celery apply_async, RabbitMQ' },
      { key: 'bullmq.publish.ours-bulk', label: 'nestjs-celery sendBulk(), Redis' },
      { key: 'bullmq.publish.addBulk', label: 'BullMQ addBulk(), Redis' },
    ],
  },
];

const WIDTH = 900;
const LABEL_WIDTH = 330;
const BAR_HEIGHT = 18;
const GAP = 6;
const COLORS = { ours: '#e0234e', other: '#8a94a6' };

/**
 * The README's chart of a run, as SVG (no dependency, diffable): one group of horizontal bars per
 * comparison, medians of this run only, our bars in Nest's red, the machine underneath.
 */
export function benchChartSvg(rows: BenchRow[], machine: string, date: string): string {
  const median = new Map(rows.map((row) => [row.key, row.summary.median]));
  const parts: string[] = [];
  let y = 30;
  parts.push(text(10, 20, `nestjs-celery benchmark, ${date}`, 16, 'bold'));
  for (const group of GROUPS) {
    const bars = group.bars.filter((bar) => median.has(bar.key));
    if (bars.length === 0) continue;
    y += 18;
    parts.push(text(10, y, `${group.title} (${group.unit}, higher is better)`, 13, 'bold'));
    y += 8;
    const max = Math.max(...bars.map((bar) => median.get(bar.key)!));
    for (const bar of bars) {
      const value = median.get(bar.key)!;
      const width = Math.max(1, Math.round(((WIDTH - LABEL_WIDTH - 90) * value) / max));
      const ours = bar.label.startsWith('nestjs-celery');
      parts.push(text(LABEL_WIDTH - 8, y + 13, bar.label, 12, 'normal', 'end'));
      parts.push(`<rect x="${LABEL_WIDTH}" y="${y}" width="${width}" height="${BAR_HEIGHT}" fill="${ours ? COLORS.ours : COLORS.other}"/>`);
      parts.push(text(LABEL_WIDTH + width + 6, y + 13, Math.round(value).toLocaleString('en-US'), 12));
      y += BAR_HEIGHT + GAP;
    }
  }
  y += 16;
  parts.push(text(10, y, machine, 11, 'normal', 'start', '#555'));
  const height = y + 12;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${WIDTH}" height="${height}" viewBox="0 0 ${WIDTH} ${height}" font-family="Helvetica, Arial, sans-serif">`,
    `<rect width="${WIDTH}" height="${height}" fill="#ffffff"/>`,
    ...parts,
    '</svg>',
    '',
  ].join('\n');
}

function text(x: number, y: number, content: string, size: number, weight = 'normal', anchor = 'start', fill = '#222'): string {
  return `<text x="${x}" y="${y}" font-size="${size}" font-weight="${weight}" text-anchor="${anchor}" fill="${fill}">${escapeXml(content)}</text>`;
}

function escapeXml(content: string): string {
  return content.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}
