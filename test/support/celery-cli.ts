import { execFile } from 'node:child_process';
import { PYTHON, pythonEnvironment } from './python-celery';
import { RABBITMQ_URL } from './rabbitmq';

/** What a `celery …` command printed, and how it exited (the remote-control CLIs exit 69 when nobody replied). */
export interface CeleryCliResult {
  exitCode: number;
  stdout: string;
  stderr: string;
}

/**
 * Runs the peer Python Celery's own command line (celery-peer.ts) (`python3 -m celery -b <broker> <args>`), the
 * default app on the test broker: `celeryCli('inspect', 'ping', '-d', node, '--json')`.
 */
export function celeryCli(...args: string[]): Promise<CeleryCliResult> {
  return new Promise((resolve, reject) => {
    execFile(PYTHON, ['-m', 'celery', '-b', RABBITMQ_URL, ...args], { timeout: 60_000, env: pythonEnvironment() }, (error, stdout, stderr) => {
      if (error && typeof error.code !== 'number') reject(new Error(`celery ${args.join(' ')} could not run: ${error.message}\n${stderr}`));
      else resolve({ exitCode: error ? Number(error.code) : 0, stdout, stderr });
    });
  });
}

/**
 * Runs a `celery inspect|control … --json` command and parses the replies it printed, by node
 * name (`control` prints a list of `{node: reply}`, `inspect` one object: both come back merged).
 */
export async function celeryCliJson<T = any>(...args: string[]): Promise<Record<string, T>> {
  const result = await celeryCli(...args, '--json');
  if (result.exitCode !== 0) throw new Error(`celery ${args.join(' ')} --json exited ${result.exitCode}:\n${result.stdout}${result.stderr}`);
  const printed: unknown = JSON.parse(result.stdout.trim().split('\n').pop()!);
  return (Array.isArray(printed) ? Object.assign({}, ...printed) : printed) as Record<string, T>;
}
