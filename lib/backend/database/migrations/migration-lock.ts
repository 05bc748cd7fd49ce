/**
 * Any constant: every migration takes this advisory lock first, so concurrent runs (several
 * workers starting at once) are serialised.
 */
export const MIGRATION_LOCK_KEY = 0x63656c72; // "celr"
