import { Controller, Get } from '@nestjs/common';
import { HealthCheck, HealthCheckService } from '@nestjs/terminus';
import { CeleryHealthIndicator } from '../../../lib';

/** GET /health: 200 while RabbitMQ and the result backend answer, 503 with the reason otherwise. */
@Controller('health')
export class HealthController {
  constructor(
    private readonly health: HealthCheckService,
    private readonly celery: CeleryHealthIndicator,
  ) {}

  @Get()
  @HealthCheck()
  check() {
    return this.health.check([() => this.celery.broker(), () => this.celery.backend()]);
  }
}
