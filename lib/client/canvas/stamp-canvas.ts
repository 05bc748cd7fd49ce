import type { SignatureDict } from '../../protocol/signature-dict';
import { stampOptions, Stamps, stampsOfOptions } from '../../protocol/stamps';

/**
 * A signature dict with `stamps` added to it and to every signature inside it: chain steps,
 * group members, a chord's header and body, callbacks and errbacks (Celery's `sig.stamp(**headers)`,
 * which visits the whole canvas). Stamps it had already stay; one of the same name is replaced.
 */
export function stampCanvas(dict: SignatureDict, stamps: Stamps): SignatureDict {
  const options: Record<string, unknown> = { ...dict.options, ...stampOptions({ ...stampsOfOptions(dict.options), ...stamps }) };
  for (const name of ['link', 'link_error'] as const) {
    const linked = options[name] as SignatureDict[] | undefined;
    if (Array.isArray(linked)) options[name] = linked.map((callback) => stampCanvas(callback, stamps));
  }
  const kwargs = { ...dict.kwargs };
  if (Array.isArray(kwargs.tasks)) kwargs.tasks = (kwargs.tasks as SignatureDict[]).map((inner) => stampCanvas(inner, stamps));
  if (dict.subtask_type === 'chord') {
    kwargs.header = stampCanvas(kwargs.header as SignatureDict, stamps);
    kwargs.body = stampCanvas(kwargs.body as SignatureDict, stamps);
  }
  return { ...dict, options, kwargs };
}
