/**
 * The names of the runtime's globals, taken once, when this module is first
 * loaded. The registration scan (`_registration_scan.ts`) refuses a module
 * that references one of them without declaring it, so its result depends
 * on this list as well as on the module's text: the user-global analysis
 * cache (`_user_cache.ts`) keys scans by the same snapshot.
 *
 * @module
 */

/** Own property names of `globalThis` when this module was loaded. */
export const RUNTIME_GLOBALS: readonly string[] = Object.freeze(
  Object.getOwnPropertyNames(globalThis),
);
