import type { Summary } from './stats';

/** One line of the table: a measured subject, the median of its runs with min and max. */
export interface BenchRow {
  /** Stable key, used by the targets: `publish.ours`, `drain.python-prefork`… */
  key: string;
  scenario: string;
  subject: string;
  unit: string;
  summary: Summary;
  note?: string;
}

/** One of the issue's targets, checked on this run's numbers. */
export interface TargetCheck {
  target: string;
  measured: string;
  /** null when it could not be checked (Python Celery absent, scenario failed). */
  met: boolean | null;
}

export interface ScenarioContext {
  rows: BenchRow[];
  /** A line printed under the table (skipped columns, failures). */
  notes: string[];
}

export function addRow(context: ScenarioContext, row: Omit<BenchRow, 'summary'> & { summary: Summary }): void {
  context.rows.push(row);
  const { median, min, max } = row.summary;
  process.stdout.write(`  ${row.scenario} | ${row.subject}: ${format(median)} ${row.unit} (${format(min)}–${format(max)})\n`);
}

export function format(value: number): string {
  if (value >= 100) return Math.round(value).toLocaleString('en-US');
  if (value >= 10) return value.toFixed(1);
  return value.toFixed(2);
}

export function markdownTable(rows: BenchRow[]): string {
  const lines = ['| Scenario | Subject | Median | Min–max | Unit | Runs |', '| --- | --- | ---: | ---: | --- | ---: |'];
  for (const row of rows) {
    const { median, min, max, runs } = row.summary;
    lines.push(`| ${row.scenario} | ${row.subject}${row.note ? ` (${row.note})` : ''} | ${format(median)} | ${format(min)}–${format(max)} | ${row.unit} | ${runs.length} |`);
  }
  return lines.join('\n');
}

export function targetsTable(checks: TargetCheck[]): string {
  const lines = ['| Target | Measured (this run) | Met |', '| --- | --- | :---: |'];
  for (const check of checks) lines.push(`| ${check.target} | ${check.measured} | ${check.met === null ? 'n/a' : check.met ? 'yes' : '**no**'} |`);
  return lines.join('\n');
}
