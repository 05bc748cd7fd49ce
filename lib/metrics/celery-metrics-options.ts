import type { Registry } from 'prom-client';
import { optionKeys } from '../utils/option-keys';

/** The `metrics` module option in object form. */
export interface CeleryMetricsOptions {
  /** Where the metrics are registered. Default: prom-client's global `register`. */
  registry?: Registry;
  /** Put before every metric name. Default 'celery_'. */
  prefix?: string;
}

export const METRICS_OPTION_KEYS = optionKeys<CeleryMetricsOptions>()('registry', 'prefix');

/** CeleryMetricsOptions with the defaults applied (the registry is looked up when the metrics are created). */
export interface ResolvedMetricsOptions {
  registry: Registry | undefined;
  prefix: string;
}

/** `metrics: true | { registry?, prefix? }` → settings; false or omitted → null (no metrics, the default). */
export function resolveMetricsOptions(option: boolean | CeleryMetricsOptions | undefined): ResolvedMetricsOptions | null {
  if (!option) return null;
  const options = option === true ? {} : option;
  return { registry: options.registry, prefix: options.prefix ?? 'celery_' };
}
