import type { CeleryClient } from '../client/celery-client';
import { TaskArgumentsError } from '../errors/task-arguments.error';
import { SignatureDict } from '../protocol/signature-dict';
import { READY_STATES } from '../protocol/task-states';
import { TaskDefinition } from '../task/task-definition';
import { currentTask } from '../task/task-context';
import { CanvasPublisher, CHORD_UNLOCK_TASK } from '../client/canvas/canvas-publisher';
import { joinChord } from './canvas-workflow-steps';
import { resultTupleId } from '../client/canvas/result-tuple';

/** Celery's `result_chord_retry_interval`: seconds between two looks at the header. */
const DEFAULT_INTERVAL_SECONDS = 1;

/**
 * Celery's built-in `celery.chord_unlock` (celery/app/builtins.py), so a worker of this module
 * that consumes a queue Python chords publish to can join them: it retries itself every
 * `interval` seconds until every header result is ready, then sends the body with the results
 * in order, or stores ChordError on the body when a header task failed. `ignore_result`, no
 * retry limit, as in Celery.
 */
export function chordUnlockTask(client: CeleryClient): TaskDefinition {
  const publisher = new CanvasPublisher(client);
  return {
    name: CHORD_UNLOCK_TASK,
    options: { ignoreResult: true, maxRetries: null, defaultRetryDelay: DEFAULT_INTERVAL_SECONDS },
    source: 'nestjs-celery built-in celery.chord_unlock',
    prepare(args, kwargs) {
      const [groupId, body] = args as [unknown, SignatureDict | undefined];
      if (typeof groupId !== 'string' || typeof body?.task !== 'string' || !Array.isArray(kwargs.result)) {
        throw new TaskArgumentsError(
          CHORD_UNLOCK_TASK,
          `got args ${JSON.stringify(args).slice(0, 200)}: expected (group_id, body signature) and kwargs.result = ` +
            'the header result tuples, as Celery publishes it. Send chords with chord(...).applyAsync() or from Python Celery.',
        );
      }
      const headerIds = (kwargs.result as unknown[]).map(resultTupleId);
      const interval = typeof kwargs.interval === 'number' ? kwargs.interval : DEFAULT_INTERVAL_SECONDS;
      const maxRetries = typeof kwargs.max_retries === 'number' ? kwargs.max_retries : null;
      return () => unlock(client, publisher, headerIds, body, interval, maxRetries);
    },
  };
}

async function unlock(client: CeleryClient, publisher: CanvasPublisher, headerIds: string[], body: SignatureDict, interval: number, maxRetries: number | null): Promise<void> {
  const task = currentTask();
  const backend = client.resultBackend;
  const store = backend.capabilities.chordCounter ?? null;
  const metas = store ? await store.getResults(headerIds) : await Promise.all(headerIds.map((id) => backend.getResult(id)));
  if (!metas.every((meta) => meta !== null && READY_STATES.has(meta.status))) task.retry({ countdown: interval, maxRetries });
  await joinChord(publisher, store, headerIds, body, { parentId: task.id, rootId: task.rootId ?? task.id }, client);
}
