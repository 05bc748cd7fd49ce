/**
 * Safety limits shared by the decoder and the encoder, so that whatever we write we can read
 * back, and a hostile or damaged row cannot exhaust memory or the call stack of code that walks
 * the decoded value (JSON.stringify, our encoder, user code).
 */

/** Largest pickle we decode. Celery results this size belong in object storage, not a row. */
export const MAX_PICKLE_BYTES = 64 * 1024 * 1024;

/** Deepest nesting of containers (list, tuple, dict, set, group and parent links) we accept. */
export const MAX_NESTING_DEPTH = 100;

/**
 * Most items a decoded value may hold once shared references are counted at each place they
 * appear. A pickle can reuse one list many times through its memo, so a few hundred bytes could
 * otherwise expand to billions of items for the first code that walks the value ("billion laughs").
 */
export const MAX_EXPANDED_ITEMS = 10_000_000;
