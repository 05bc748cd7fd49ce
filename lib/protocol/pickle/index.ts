/**
 * A small, safe Python pickle codec for Celery's database result backend, which stores
 * `celery_taskmeta.result` and `celery_tasksetmeta.result` as pickles (celery-protocol.md §4.3).
 *
 * Why hand-written: no npm library does this safely. pickleparser and jpickle either emulate
 * arbitrary Python classes (so a stored row decides what objects we build) or cannot write
 * pickles at all. We need only a small subset: plain data, datetime, and Celery's
 * AsyncResult/GroupResult, decoded to inert values with everything else refused, and a
 * protocol-3 writer that Celery 5.2.6 is verified to read.
 */
export { decodePickle } from './pickle-decoder';
export { encodePickle } from './pickle-encoder';
export { PickledAsyncResult, PickledGroupResult, PythonTuple, pythonTuple } from './python-objects';
export { UnsupportedPickleError } from '../../errors/unsupported-pickle.error';
export { UnpicklableValueError } from '../../errors/unpicklable-value.error';
