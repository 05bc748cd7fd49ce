/** Types of footprint.js (plain JavaScript, so it also runs by hand on any installed app). */
export interface Footprint {
  basePackages: number;
  addedPackages: number;
  /** Names of the packages added, sorted (a name twice when installed in two versions). */
  added: string[];
  baseBytes: number;
  addedBytes: number;
}

export function footprint(appDir: string, base: readonly string[], added: readonly string[]): Footprint;
export function requireTime(appDir: string, module: string, runs?: number): { moduleMs: number; totalMs: number; nestMs: number };
export function reachable(packages: Record<string, unknown>, roots: readonly string[]): Set<string>;
export function readLock(appDir: string): Record<string, unknown>;
