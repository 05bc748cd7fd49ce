import { CeleryError } from './celery.error';

/** What to do when a stored pickle is refused because of what it names (a class or function). */
const ADVICE_FOR_UNKNOWN_CLASSES =
  'Only inert data (None, bool, int, float, str, bytes, list, tuple, dict, set, datetime, timedelta) and ' +
  "Celery's result classes (celery.result.AsyncResult / GroupResult as Celery pickles them) can be read. " +
  'Have the Python task return plain data (or convert it before returning) so the database backend stores only those types.';

/** What to do when a stored pickle is damaged, too large or uses opcodes we do not read. */
const ADVICE_FOR_DAMAGED_DATA =
  "Expected a pickle (protocol 2 to 5) as Celery's database backend writes it into celery_taskmeta.result or " +
  'celery_tasksetmeta.result. Check that the column holds a Celery result and was not truncated or written by another program.';

/**
 * A Python pickle (a `result` column of Celery's database backend) that this module will not
 * decode: it is damaged, exceeds a safety limit, or names a Python class or function outside the
 * short allow-list. Nothing the pickle names is ever called; the whole value is refused instead.
 * Python's equivalent is `pickle.UnpicklingError` (or a `find_class` refusal).
 */
export class UnsupportedPickleError extends CeleryError {
  constructor(
    /** Byte offset of the opcode being decoded when the problem was found. */
    readonly offset: number,
    /** That opcode's name and byte, e.g. `GLOBAL (0x63)`. */
    readonly opcode: string,
    /** What happened, e.g. `it names os.system`. */
    readonly problem: string,
    /** True when the pickle names a class or function we do not map (as opposed to damaged data). */
    readonly namesUnknownPythonObject = false,
  ) {
    super(
      `Cannot decode the stored Python pickle at byte ${offset} (opcode ${opcode}): ${problem}. ` +
        (namesUnknownPythonObject ? ADVICE_FOR_UNKNOWN_CLASSES : ADVICE_FOR_DAMAGED_DATA),
    );
  }
}
