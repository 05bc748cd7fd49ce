import { chainDict, chordDict, groupDict } from '../../lib/client/canvas/composite-dicts';
import { InvalidReplacementError } from '../../lib/errors/invalid-replacement.error';
import type { SignatureDict } from '../../lib/protocol/signature-dict';
import type { TaskMessage } from '../../lib/protocol/task-message';
import { replacementFor } from '../../lib/workflow/task-replacement';

/** What Celery's Task.replace (celery/app/task.py) makes of a replacement, as pure dicts. */

const sig = (task: string, options: Record<string, unknown> = {}): SignatureDict => ({ task, args: [], kwargs: {}, options, subtask_type: null, immutable: false });

function replaced(overrides: Partial<TaskMessage> = {}): TaskMessage {
  return {
    id: 'replaced-id', task: 't.replaced', args: [], kwargs: {},
    embed: { callbacks: [sig('t.callback')], errbacks: [sig('t.errback')], chain: null, chord: null },
    rootId: 'root-id', parentId: null, group: null, groupIndex: null, retries: 0, eta: null, expires: null,
    timeLimit: [null, null], shadow: null, origin: null, ignoreResult: false, argsrepr: null, kwargsrepr: null,
    customHeaders: {}, replyTo: 'reply-queue', correlationId: 'replaced-id', priority: null,
    ...overrides,
  };
}

describe("a task's replacement, as Celery's Task.replace builds it", () => {
  it('a task takes the id, reply_to, callbacks and errbacks, and replaced_task_nesting 1', () => {
    const result = replacementFor(replaced(), sig('t.new', { link: [sig('t.own_callback')] }));
    expect(result.options).toMatchObject({
      task_id: 'replaced-id',
      reply_to: 'reply-queue',
      link: [sig('t.own_callback'), sig('t.callback')],
      link_error: [sig('t.errback')],
      headers: { replaced_task_nesting: 1 },
    });
  });

  it("a chain: the last step takes the id and callbacks, every step the errbacks and the nesting", () => {
    const result = replacementFor(replaced({ customHeaders: { replaced_task_nesting: 2 } }), chainDict([sig('t.a'), sig('t.b')]));
    const [a, b] = result.kwargs.tasks as SignatureDict[];
    expect(a.options).toEqual({ link_error: [sig('t.errback')], headers: { replaced_task_nesting: 3 } });
    expect(b.options).toMatchObject({ task_id: 'replaced-id', link: [sig('t.callback')], link_error: [sig('t.errback')], headers: { replaced_task_nesting: 3 } });
  });

  it("a group becomes a chord with celery.accumulate(index=0) as body, which takes the id and the task's place in its chord", () => {
    const body = sig('t.chord_body');
    const result = replacementFor(replaced({ group: 'group-id', groupIndex: 2, embed: { callbacks: null, errbacks: null, chain: null, chord: body } }), groupDict([sig('t.a'), sig('t.b')]));
    expect(result.subtask_type).toBe('chord');
    expect(result.kwargs.body).toMatchObject({ task: 'celery.accumulate', kwargs: { index: 0 }, options: { task_id: 'replaced-id', group_id: 'group-id', group_index: 2, chord: body } });
  });

  it("the replaced task's remaining chain steps follow the replacement, next step first", () => {
    const result = replacementFor(replaced({ embed: { callbacks: null, errbacks: null, chain: [sig('t.last', { task_id: 'last' }), sig('t.next', { task_id: 'next' })], chord: null } }), sig('t.new'));
    expect((result.kwargs.tasks as SignatureDict[]).map((step) => [step.task, step.options.task_id])).toEqual([
      ['t.new', 'replaced-id'],
      ['t.next', 'next'],
      ['t.last', 'last'],
    ]);
  });

  it('refuses a replacement part of a chord of its own, or an empty chain, as Celery raises ImproperlyConfigured', () => {
    expect(() => replacementFor(replaced(), sig('t.new', { chord: sig('t.body') }))).toThrow(InvalidReplacementError);
    expect(() => replacementFor(replaced(), chainDict([]))).toThrow('t.replaced: cannot replace a task with an empty chain');
    expect(() => replacementFor(replaced(), chordDict(groupDict([sig('t.a')]), sig('t.b')))).not.toThrow();
  });
});
