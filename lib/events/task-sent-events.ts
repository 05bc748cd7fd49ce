import type { LamportClock } from '../protocol/lamport-clock';
import type { CeleryLogger } from '../utils/logger';
import { anonymousNodename } from './anonymous-nodename';
import { EventBroker, EventDispatcher } from './event-dispatcher';
import { SentRoute, taskSentFields } from './task-event-fields';

export interface TaskSentEventsDependencies {
  broker: EventBroker;
  /** The app's Lamport clock, shared with the worker's events and remote control. */
  clock: LamportClock;
  logger: CeleryLogger;
}

/**
 * A client's task-sent events (Celery's `task_send_sent_event`, celery-protocol.md §8.3,
 * Fx event_task_sent): one event per sent task, published alone with routing key `task.sent`
 * under the client's `gen<pid>@<host>` name, so monitors know a task from the moment it leaves.
 */
export class TaskSentEvents {
  private readonly dispatcher: EventDispatcher;

  constructor(deps: TaskSentEventsDependencies) {
    this.dispatcher = new EventDispatcher({ ...deps, hostname: anonymousNodename() });
  }

  /** After the broker confirmed a task: its v2 headers as published and where it went. Never throws. */
  taskSent(headers: Readonly<Record<string, unknown>>, route: SentRoute): void {
    this.dispatcher.send('task-sent', taskSentFields(headers, route));
  }
}
