import { chain, chord, group, signature } from '../../lib';
import { fromCeleryOptions, toCeleryOptions } from '../../lib/client/canvas/signature-options';
import { stampHeaders, stampsOfHeaders } from '../../lib/protocol/stamps';
import { SignatureDict } from '../../lib/protocol/signature-dict';
import { RevokedStamps } from '../../lib/worker/revoked-stamps';

describe('stamps on the wire (Celery 5.3+)', () => {
  it('reads and writes the stamped_headers and stamps headers as as_task_v2 does', () => {
    expect(stampHeaders({ a: '1', b: ['2', '3'] })).toEqual({ stamped_headers: ['a', 'b'], stamps: { a: '1', b: ['2', '3'] } });
    expect(stampsOfHeaders({ stamped_headers: ['a'], stamps: { a: '1', other: 'x' } })).toEqual({ a: '1' });
    expect(stampsOfHeaders({ stamped_headers: null, stamps: {} })).toEqual({});
    expect(stampsOfHeaders({})).toEqual({});
  });

  it('maps the stamps option to signature options (stamped_headers plus one option per stamp) and back', () => {
    const options = toCeleryOptions({ queue: 'q', stamps: { mystamp: 'm1' } });
    expect(options).toEqual({ queue: 'q', stamped_headers: ['mystamp'], mystamp: 'm1' });
    expect(fromCeleryOptions(options)).toEqual({ queue: 'q', stamps: { mystamp: 'm1' } });
  });

  it('stamps every signature of a canvas: chain steps, group members, chord header and body, callbacks', () => {
    const canvas = chain(
      signature('a').link(signature('cb')),
      chord([signature('h1'), group([signature('g1')])], signature('body')),
    ).stamp({ s: 'v' });
    const stampsOf = (dict: SignatureDict): unknown[] => [
      dict.options.s,
      ...((dict.options.link as SignatureDict[] | undefined) ?? []).flatMap(stampsOf),
      ...((dict.kwargs.tasks as SignatureDict[] | undefined) ?? []).flatMap(stampsOf),
      ...(dict.subtask_type === 'chord' ? [...stampsOf(dict.kwargs.header as SignatureDict), ...stampsOf(dict.kwargs.body as SignatureDict)] : []),
    ];
    // chain, a, cb, chord, header group, h1, inner group, g1, body
    expect(stampsOf(canvas.toDict())).toEqual(Array(9).fill('v'));
    expect(canvas.toDict().options.stamped_headers).toEqual(['s']);
  });
});

describe("revoked stamps (Celery's Request.revoked)", () => {
  it('matches a scalar stamp, and a list stamp by any of its values', () => {
    const revoked = new RevokedStamps();
    revoked.add({ tenant: ['t1', 't2'] });
    revoked.add({ tenant: 't3' }); // appended, as Celery does
    expect(revoked.match({ tenant: 't3' })).toEqual({ tenant: 't3' });
    expect(revoked.match({ tenant: ['x', 't1'] })).toEqual({ tenant: 't1' });
    expect(revoked.match({ tenant: 'other' })).toBeNull();
    expect(revoked.match({ unrelated: 't1' })).toBeNull();
  });

  it("lets the message's first stamp that has revoked values decide, as Celery does", () => {
    const revoked = new RevokedStamps();
    revoked.add({ a: 'no-match', b: 'hit' });
    expect(revoked.match({ a: 'value', b: 'hit' })).toBeNull();
    expect(revoked.match({ b: 'hit', a: 'value' })).toEqual({ b: 'hit' });
  });
});
