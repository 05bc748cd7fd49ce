import { Body, Controller, Get, Header, HttpCode, Inject, NotFoundException, Param, Post, Query, Res, Sse, Type, UseGuards } from '@nestjs/common';
import type { MessageEvent } from '@nestjs/common';
import type { Observable } from 'rxjs';
import { CeleryDashboard } from './celery-dashboard.service';
import { DashboardAssets } from './dashboard-assets';
import type { ResolvedDashboardOptions } from './dashboard-options';
import { readEnabledBody, readQueueBody, readRateLimitBody, readScheduleId, readRevokeBody, readSeriesQuery, readTaskFilter } from './dashboard-requests';

/** The bits of Express's / Fastify's reply the asset routes use. */
interface RawReply {
  setHeader?(name: string, value: string): void;
  header?(name: string, value: string): void;
  send(body: string): void;
}

/**
 * Builds the dashboard's controller at the mount path, with the app's guards on every route:
 * Nest reads the path and guards from decorators, so the class is decorated when registered.
 *
 * Routes (under `/<path>`): the page; `api/overview`, `api/workers`, `api/tasks` (filters
 * `name`, `state`, `worker`, `from`, `to`, `limit`), `api/tasks/:id`, `api/progress` (running
 * tasks' reported progress by id), `api/series`; the live
 * stream `api/stream` (server-sent events); and the actions `POST api/tasks/:id/revoke`,
 * `…/terminate`, `…/retry`, `api/rate-limit`, `api/workers/:hostname/shutdown`.
 */
export function createDashboardController(options: ResolvedDashboardOptions): Type<unknown> {
  @Controller(options.path)
  class CeleryDashboardController {
    constructor(
      @Inject(CeleryDashboard) private readonly dashboard: CeleryDashboard,
      @Inject(DashboardAssets) private readonly assets: DashboardAssets,
    ) {}

    @Get()
    @Header('Content-Type', 'text/html; charset=utf-8')
    @Header('Cache-Control', 'no-store')
    page(): string {
      return this.assets.page(options.path);
    }

    @Get('static/:name')
    asset(@Param('name') name: string, @Res() reply: RawReply): void {
      const asset = this.assets.asset(name);
      if (!asset) throw new NotFoundException(`No dashboard file ${name}.`);
      const set = (header: string, value: string) => (reply.setHeader ? reply.setHeader(header, value) : reply.header?.(header, value));
      set('Content-Type', asset.contentType);
      set('Cache-Control', 'no-cache');
      reply.send(asset.body);
    }

    @Get('api/overview')
    overview() {
      return this.dashboard.overview();
    }

    @Get('api/workers')
    workers() {
      return this.dashboard.workers();
    }

    @Get('api/tasks')
    tasks(@Query() query: Record<string, unknown>) {
      return { tasks: this.dashboard.tasks(readTaskFilter(query)), names: this.dashboard.taskNames() };
    }

    @Get('api/tasks/:id')
    task(@Param('id') id: string) {
      return this.dashboard.task(id);
    }

    @Get('api/progress')
    progress() {
      return this.dashboard.progress();
    }

    @Get('api/series')
    series(@Query() query: Record<string, unknown>) {
      return this.dashboard.series(readSeriesQuery(query));
    }

    @Sse('api/stream')
    stream(): Observable<MessageEvent> {
      return this.dashboard.liveUpdates();
    }

    @Post('api/tasks/:id/revoke')
    @HttpCode(202)
    revoke(@Param('id') id: string, @Body() body: unknown) {
      return this.dashboard.revoke(id, readRevokeBody(body).terminate);
    }

    @Post('api/tasks/:id/terminate')
    @HttpCode(202)
    terminate(@Param('id') id: string) {
      return this.dashboard.revoke(id, true);
    }

    @Post('api/tasks/:id/retry')
    @HttpCode(202)
    retry(@Param('id') id: string) {
      return this.dashboard.retry(id);
    }

    @Post('api/rate-limit')
    async rateLimit(@Body() body: unknown) {
      const { taskName, rateLimit, worker } = readRateLimitBody(body);
      return { taskName, rateLimit, replies: await this.dashboard.setRateLimit(taskName, rateLimit, worker) };
    }

    @Get('api/queues')
    queues() {
      return this.dashboard.queues();
    }

    @Post('api/queues/:name/pause')
    async pauseQueue(@Param('name') name: string, @Body() body: unknown) {
      const { worker } = readQueueBody(body);
      return { queue: name, worker: worker ?? null, replies: await this.dashboard.pauseQueue(name, worker) };
    }

    @Post('api/queues/:name/resume')
    async resumeQueue(@Param('name') name: string, @Body() body: unknown) {
      const { worker } = readQueueBody(body);
      return { queue: name, worker: worker ?? null, replies: await this.dashboard.resumeQueue(name, worker) };
    }

    @Get('api/schedules')
    schedules() {
      return this.dashboard.schedules();
    }

    @Post('api/schedules/:id/enabled')
    setScheduleEnabled(@Param('id') id: string, @Body() body: unknown) {
      return this.dashboard.setScheduleEnabled(readScheduleId(id), readEnabledBody(body).enabled);
    }

    @Post('api/schedules/:id/run')
    @HttpCode(202)
    runSchedule(@Param('id') id: string) {
      return this.dashboard.runSchedule(readScheduleId(id));
    }

    @Get('api/workers/:hostname')
    workerDetail(@Param('hostname') hostname: string) {
      return this.dashboard.workerDetail(hostname);
    }

    @Post('api/workers/:hostname/shutdown')
    @HttpCode(202)
    shutdown(@Param('hostname') hostname: string) {
      return this.dashboard.shutdownWorker(hostname);
    }
  }
  if (options.guards.length > 0) UseGuards(...options.guards)(CeleryDashboardController);
  return CeleryDashboardController;
}
