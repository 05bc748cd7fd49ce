import type { ProcessPool } from './process-pool';

/** `--autoscale=max,min`: the pool grows to `max` children when busy and shrinks back to `min` when idle. */
export interface AutoscaleLimits {
  readonly max: number;
  readonly min: number;
}

/**
 * Celery's Autoscaler (celery/worker/autoscale.py): once a second, the tasks the worker holds
 * (running and waiting) decide the number of children, between min and max. It grows at once; it
 * shrinks only when no growth happened for `keepaliveSeconds` (Celery's AUTOSCALE_KEEPALIVE, 30 s),
 * so a burst does not make children come and go.
 */
export class Autoscaler {
  private timer: NodeJS.Timeout | null = null;
  private lastScaleUp = Date.now();

  constructor(
    private readonly pool: ProcessPool,
    private limits: AutoscaleLimits,
    /** The tasks the worker holds now: running and waiting for a slot (Celery's reserved requests). */
    private readonly demand: () => number,
    private readonly keepaliveSeconds: number,
  ) {}

  get max(): number {
    return this.limits.max;
  }

  get min(): number {
    return this.limits.min;
  }

  start(): void {
    this.timer ??= setInterval(() => this.tick(), 1_000);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = null;
  }

  /** One look at the demand: Celery's `Autoscaler.body`. */
  tick(): void {
    const processes = this.pool.processes;
    const wanted = Math.max(this.limits.min, Math.min(this.demand(), this.limits.max));
    if (wanted > processes) this.scaleUp(wanted - processes);
    else if (wanted < processes && (Date.now() - this.lastScaleUp) / 1000 > this.keepaliveSeconds) this.pool.resize(wanted);
  }

  /** New limits (Celery's `control autoscale max min`); the pool is brought within them at once. */
  update(limits: AutoscaleLimits): void {
    this.limits = limits;
    const processes = this.pool.processes;
    if (processes > limits.max) this.pool.resize(limits.max);
    else if (processes < limits.min) this.scaleUp(limits.min - processes);
  }

  private scaleUp(n: number): void {
    this.lastScaleUp = Date.now();
    this.pool.grow(n);
  }
}
