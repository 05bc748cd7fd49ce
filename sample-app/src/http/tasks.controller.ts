import { BadRequestException, Body, Controller, Get, GatewayTimeoutException, HttpCode, Param, Post, Query } from '@nestjs/common';
import { AsyncResult, CeleryClient, InvalidSendOptionsError, ResultTimeoutError, SendTaskOptions, TaskState } from '../../../lib';


/** Body of POST /tasks/:name — Celery's `apply_async(args, kwargs, **options)`. */
interface SendTaskBody {
  args?: unknown[];
  kwargs?: Record<string, unknown>;
  options?: Omit<SendTaskOptions, 'kwargs'>;
}

/** What GET /tasks/:id returns. */
interface TaskView {
  id: string;
  state: string;
  result: unknown;
  error: { type: string; message: string; traceback: string | null } | null;
}

/** An HTTP face for sending tasks and reading their results. */
@Controller('tasks')
export class TasksController {
  constructor(private readonly celery: CeleryClient) {}

  @Post(':name')
  @HttpCode(202)
  async send(@Param('name') name: string, @Body() body: SendTaskBody = {}): Promise<{ id: string }> {
    try {
      const result = await this.celery.send(name, body.args ?? [], { ...body.options, kwargs: body.kwargs });
      return { id: result.id };
    } catch (error) {
      if (error instanceof InvalidSendOptionsError) throw new BadRequestException(error.message);
      throw error;
    }
  }

  @Get(':id')
  async state(@Param('id') id: string): Promise<TaskView> {
    return this.view(this.celery.asyncResult(id));
  }

  /** Waits up to `timeout` ms (default 10 s) for the task to finish. */
  @Get(':id/result')
  async result(@Param('id') id: string, @Query('timeout') timeout?: string): Promise<TaskView> {
    const waitMs = timeout === undefined ? 10_000 : Number(timeout);
    if (!Number.isFinite(waitMs) || waitMs < 0) throw new BadRequestException(`timeout must be a number of milliseconds, got "${timeout}"`);
    const asyncResult = this.celery.asyncResult(id);
    try {
      await asyncResult.get({ timeout: waitMs, propagate: false });
    } catch (error) {
      if (error instanceof ResultTimeoutError) throw new GatewayTimeoutException(error.message);
      throw error;
    }
    return this.view(asyncResult);
  }

  private async view(asyncResult: AsyncResult): Promise<TaskView> {
    const meta = await asyncResult.info();
    const state = meta?.status ?? TaskState.PENDING;
    const failed = state === TaskState.FAILURE || state === TaskState.REVOKED;
    const info = failed ? (meta!.result as { exc_type: string; exc_message: unknown[] }) : null;
    return {
      id: asyncResult.id,
      state,
      result: failed ? null : (meta?.result ?? null),
      error: info ? { type: info.exc_type, message: info.exc_message.map(String).join(', '), traceback: meta!.traceback } : null,
    };
  }
}
