import { globToRegExp } from '../utils/fnmatch';
import type { ControlRequest } from './control-message';

/**
 * Whether a request is for this node, as kombu's `Node.handle_message` decides: the node is in
 * `destination`; or, with no destination, its name matches `pattern` with `matcher` (`glob`:
 * Python's fnmatch; `pcre`: Python's `re.match`, anchored at the start only); or neither is
 * given (a broadcast to all). An unknown matcher or a broken regular expression matches nothing
 * (Python logs the error and does not reply either).
 */
export function isAddressedTo(request: Pick<ControlRequest, 'destination' | 'pattern' | 'matcher'>, nodename: string): boolean {
  if (request.destination && request.destination.length > 0) return request.destination.includes(nodename);
  if (request.pattern && request.matcher) return matchesPattern(nodename, request.pattern, request.matcher);
  return true;
}

function matchesPattern(nodename: string, pattern: string, matcher: string): boolean {
  if (matcher === 'glob') return globToRegExp(pattern).test(nodename);
  if (matcher !== 'pcre') return false;
  try {
    return new RegExp(pattern, 'y').test(nodename);
  } catch {
    return false;
  }
}
