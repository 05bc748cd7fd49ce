import { SignatureDict } from '../../protocol/signature-dict';
import { chainDict, chordDict, groupDict } from './composite-dicts';

/**
 * A signature called with partial args and kwargs (Celery's `clone(args, kwargs)` and a
 * composite's `apply_async(args, kwargs)`), each kind as Celery's canvas passes them on: a task
 * puts args before its own and merges kwargs over its own (an immutable one keeps both as they
 * are); a chain gives them to its first step; a group to every member; a chord to every header
 * task (Celery 5.6; 5.2.6 dropped a chord's kwargs); map, starmap and chunks are immutable.
 */
export function withPartialCall(dict: SignatureDict, args: readonly unknown[], kwargs: Readonly<Record<string, unknown>>): SignatureDict {
  if (args.length === 0 && Object.keys(kwargs).length === 0) return dict;
  switch (dict.subtask_type) {
    case 'chain': {
      const [first, ...rest] = dict.kwargs.tasks as SignatureDict[];
      return chainDict(first ? [withPartialCall(first, args, kwargs), ...rest] : [], dict.options);
    }
    case 'group':
      return groupDict((dict.kwargs.tasks as SignatureDict[]).map((member) => withPartialCall(member, args, kwargs)), dict.options);
    case 'chord':
      return chordDict(withPartialCall(dict.kwargs.header as SignatureDict, args, kwargs), dict.kwargs.body as SignatureDict, dict.options);
    case null:
      if (dict.immutable) return dict;
      return { ...dict, args: [...args, ...dict.args], kwargs: { ...dict.kwargs, ...kwargs } };
    default:
      return dict; // xmap, xstarmap, chunks: immutable in Celery
  }
}
