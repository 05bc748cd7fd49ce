import { ChildProcess, spawn } from 'node:child_process';
import { join } from 'node:path';

/** dist/ is built once per test run by test/support/global-setup.js. */
export const ROOT = join(__dirname, '..', '..');

const children = new Set<ChildProcess>();
process.on('exit', () => {
  for (const child of children) child.kill('SIGKILL');
});

/** A sample-app process (`dist/sample-app/src/<entry>.js`) with the given environment; its output is kept. */
export interface SampleProcess {
  child: ChildProcess;
  output(): string;
  /** Resolves with the exit code (or the signal name). */
  exited: Promise<number | string>;
  waitForOutput(pattern: RegExp, timeoutMs?: number): Promise<void>;
}

export function startSampleProcess(entry: 'main-worker' | 'main-api' | 'main-beat', env: Record<string, string>): SampleProcess {
  return startNodeProcess([join(ROOT, 'dist', 'sample-app', 'src', `${entry}.js`)], env, entry);
}

/** `node <args…>` from the repository root with the given environment; its output is kept. */
export function startNodeProcess(args: string[], env: Record<string, string>, label = args.join(' '), cwd = ROOT): SampleProcess {
  const entry = label;
  const child = spawn(process.execPath, args, {
    cwd,
    env: { ...process.env, NO_COLOR: '1', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  children.add(child);
  let output = '';
  const listeners = new Set<() => void>();
  const append = (chunk: Buffer) => {
    output += chunk.toString();
    for (const listener of listeners) listener();
  };
  child.stdout!.on('data', append);
  child.stderr!.on('data', append);
  const exited = new Promise<number | string>((resolve) =>
    child.on('exit', (code, signal) => {
      children.delete(child);
      resolve(code ?? signal ?? -1);
    }),
  );
  return {
    child,
    output: () => output,
    exited,
    waitForOutput: (pattern, timeoutMs = 30_000) =>
      new Promise((resolve, reject) => {
        const check = () => {
          if (!pattern.test(output)) return;
          cleanup();
          resolve();
        };
        const timer = setTimeout(() => {
          cleanup();
          reject(new Error(`Timed out waiting for ${pattern} in the output of ${entry}:\n${output}`));
        }, timeoutMs);
        const cleanup = () => {
          clearTimeout(timer);
          listeners.delete(check);
        };
        listeners.add(check);
        check();
      }),
  };
}
