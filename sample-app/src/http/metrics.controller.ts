import { Controller, Get, Header, NotFoundException, Optional } from '@nestjs/common';
import { CeleryMetrics } from '../../../lib';

/** GET /metrics: the Prometheus text format of the registry CeleryMetrics is on (the `metrics` module option). */
@Controller('metrics')
export class MetricsController {
  constructor(@Optional() private readonly metrics: CeleryMetrics | null) {}

  @Get()
  @Header('Content-Type', 'text/plain; version=0.0.4; charset=utf-8')
  async scrape(): Promise<string> {
    if (!this.metrics) throw new NotFoundException('Metrics are off: set the CeleryModule option metrics');
    return this.metrics.registry.metrics();
  }
}
