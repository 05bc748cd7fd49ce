import type { CanActivate, ModuleMetadata, Type } from '@nestjs/common';
import { InvalidDashboardOptionsError } from '../errors/invalid-dashboard-options.error';

/** A guard class (resolved by Nest, with its dependencies) or a guard instance. */
export type DashboardGuard = Type<CanActivate> | CanActivate;

/**
 * `CeleryDashboardModule.register(options)`: the live dashboard (Flower's essentials) mounted
 * in your Nest HTTP app. Nothing is mounted unless you register it (and `enabled` is not false).
 */
export interface CeleryDashboardOptions {
  /** Default true; false registers nothing (to switch it from configuration). */
  enabled?: boolean;
  /** Where the page and its API are mounted. Default `celery` (→ `/celery`). */
  path?: string;
  /** Guards every dashboard route (page, API, live stream, actions) passes, like `@UseGuards()`. Global guards apply too. */
  guards?: DashboardGuard[];
  /** Modules the guard classes need (e.g. ConfigModule). */
  imports?: ModuleMetadata['imports'];
  /**
   * Keep task history in the result backend's PostgreSQL (server or embedded), table
   * `celery_task_history`. Default true; ignored (memory only, with a log line) when the
   * result backend is not a database.
   */
  history?: boolean;
  /** Tasks kept in memory and restored at start (Flower's `--max_tasks`). Default 10000. */
  maxTasks?: number;
  /** History rows older than this are deleted at start, seconds. Default 7 days. */
  historyRetentionSeconds?: number;
}

/** The options with defaults applied. */
export interface ResolvedDashboardOptions {
  path: string;
  guards: DashboardGuard[];
  history: boolean;
  maxTasks: number;
  historyRetentionSeconds: number;
}

/** Checks every option and applies the defaults; throws InvalidDashboardOptionsError listing each problem. */
export function resolveDashboardOptions(options: CeleryDashboardOptions): ResolvedDashboardOptions {
  const problems: string[] = [];
  const { path = 'celery', guards = [], history = true, maxTasks = 10_000, historyRetentionSeconds = 7 * 24 * 3600 } = options;
  if (typeof path !== 'string' || !/^\/?[A-Za-z0-9._~\-/]*$/.test(path) || path.includes('//')) problems.push(`path must be a URL path such as "celery" or "admin/celery", got ${JSON.stringify(path)}`);
  if (!Array.isArray(guards) || guards.some((guard) => typeof guard !== 'function' && typeof (guard as CanActivate)?.canActivate !== 'function')) {
    problems.push('guards must be an array of guard classes or instances (objects with canActivate)');
  }
  if (typeof history !== 'boolean') problems.push(`history must be true or false, got ${JSON.stringify(history)}`);
  if (!Number.isInteger(maxTasks) || maxTasks < 1) problems.push(`maxTasks must be a positive integer, got ${JSON.stringify(maxTasks)}`);
  if (typeof historyRetentionSeconds !== 'number' || !(historyRetentionSeconds > 0)) problems.push(`historyRetentionSeconds must be a positive number of seconds, got ${JSON.stringify(historyRetentionSeconds)}`);
  if (problems.length > 0) throw new InvalidDashboardOptionsError(problems);
  return { path: path.replace(/^\/+|\/+$/g, ''), guards, history, maxTasks, historyRetentionSeconds };
}
