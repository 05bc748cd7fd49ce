import { READY_STATES, TaskState } from '../protocol/task-states';
import type { ReceivedEvent } from './received-event';
import { statePrecedence, TASK_EVENT_STATES } from './state-precedence';

/** One event in a task's life, as the timeline of the task detail shows it. */
export interface TaskTimelineEntry {
  /** The event type, e.g. `task-started`. */
  type: string;
  /** Epoch seconds (the sender's time, in the receiver's zone). */
  timestamp: number;
  /** The node that sent it: a worker, or the client for task-sent. */
  hostname: string;
  /** The exception repr of task-failed / task-retried. */
  exception?: string;
}

/** A task as a monitor shows it: serialisable, for JSON APIs, alerts and the history table. */
export interface TaskSnapshot {
  uuid: string;
  name: string | null;
  state: string;
  /** `args` / `kwargs` are Python reprs, as task events carry them (`"(2, 3)"`, `"{'k': 'v'}"`). */
  args: string | null;
  kwargs: string | null;
  /** The result's repr (at most 1024 characters, as the worker sends it). */
  result: string | null;
  /** The exception's repr, e.g. `ValueError('boom')`. */
  exception: string | null;
  traceback: string | null;
  retries: number | null;
  /** The worker's node name. */
  worker: string | null;
  /** The node that sent task-sent, when `task_send_sent_event` is on. */
  client: string | null;
  /** Seconds the last run took (succeeded / failed). */
  runtime: number | null;
  eta: string | null;
  expires: string | null;
  rootId: string | null;
  parentId: string | null;
  exchange: string | null;
  routingKey: string | null;
  /** Epoch seconds of each step; null until it happened. */
  sent: number | null;
  received: number | null;
  started: number | null;
  succeeded: number | null;
  failed: number | null;
  retried: number | null;
  revoked: number | null;
  rejected: number | null;
  /** Epoch seconds of the event that set the current state. */
  timestamp: number | null;
  clock: number;
  timeline: TaskTimelineEntry[];
}

/** The fields Celery's `Task.merge_rules` keeps from task-received whenever it arrives. */
const RECEIVED_FIELDS = ['name', 'args', 'kwargs', 'parent_id', 'root_id', 'retries', 'eta', 'expires'] as const;

/** Event fields copied onto the task, by their wire name. */
const COPIED_FIELDS: Readonly<Record<string, keyof TaskSnapshot>> = {
  name: 'name',
  args: 'args',
  kwargs: 'kwargs',
  result: 'result',
  exception: 'exception',
  traceback: 'traceback',
  retries: 'retries',
  runtime: 'runtime',
  eta: 'eta',
  expires: 'expires',
  root_id: 'rootId',
  parent_id: 'parentId',
  exchange: 'exchange',
  routing_key: 'routingKey',
  clock: 'clock',
};

/** Timeline entries kept per task: a task retried forever must not grow without bound. */
const TIMELINE_LIMIT = 50;

/** A fresh task: PENDING until an event says more (Celery's `Task` class defaults). */
export function emptyTask(uuid: string): TaskSnapshot {
  return {
    uuid, name: null, state: TaskState.PENDING, args: null, kwargs: null, result: null, exception: null, traceback: null,
    retries: null, worker: null, client: null, runtime: null, eta: null, expires: null, rootId: null, parentId: null,
    exchange: null, routingKey: null, sent: null, received: null, started: null, succeeded: null, failed: null,
    retried: null, revoked: null, rejected: null, timestamp: null, clock: 0, timeline: [],
  };
}

/**
 * Applies one task event to a task, as Celery's `Task.event` does: the step's time is recorded
 * (`task.started = timestamp`), and an event whose state logically comes *before* the current
 * one (task-started arriving after task-succeeded) does not move the task back: only the fields
 * task-received owns (name, args, …) are taken from it. RETRY always applies, since a retried
 * task runs again. Returns the task (mutated) for chaining.
 */
export function applyTaskEvent(task: TaskSnapshot, subject: string, event: ReceivedEvent): TaskSnapshot {
  const known = TASK_EVENT_STATES[subject];
  const state = known ?? subject.toUpperCase();
  if (known !== undefined) (task as unknown as Record<string, unknown>)[subject] = event.timestamp;
  const happenedBefore = state !== TaskState.RETRY && task.state !== TaskState.RETRY && statePrecedence(state) > statePrecedence(task.state);
  if (happenedBefore) {
    if (state === TaskState.RECEIVED) copyFields(task, event, RECEIVED_FIELDS);
  } else {
    copyFields(task, event, Object.keys(COPIED_FIELDS));
    task.state = state;
    task.timestamp = event.timestamp;
  }
  addToTimeline(task, event);
  return task;
}

/** Whether the task has reached SUCCESS, FAILURE or REVOKED (Celery's `Task.ready`). */
export function isReady(task: TaskSnapshot): boolean {
  return READY_STATES.has(task.state);
}

function copyFields(task: TaskSnapshot, event: ReceivedEvent, names: readonly string[]): void {
  const target = task as unknown as Record<string, unknown>;
  for (const name of names) {
    if (!(name in event)) continue;
    const value = event[name];
    target[COPIED_FIELDS[name]] = typeof value === 'bigint' ? Number(value) : value;
  }
}

function addToTimeline(task: TaskSnapshot, event: ReceivedEvent): void {
  const entry: TaskTimelineEntry = { type: event.type, timestamp: event.timestamp, hostname: event.hostname };
  if (typeof event.exception === 'string') entry.exception = event.exception;
  const timeline = task.timeline;
  // Events of one task usually arrive in order; out-of-order ones are placed by time.
  let index = timeline.length;
  while (index > 0 && timeline[index - 1].timestamp > entry.timestamp) index -= 1;
  timeline.splice(index, 0, entry);
  if (timeline.length > TIMELINE_LIMIT) timeline.splice(1, timeline.length - TIMELINE_LIMIT);
}
