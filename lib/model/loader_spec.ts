/**
 * How Pivot tells its built-in loaders apart: the symbol keys they carry and
 * the functions that read them. Not part of the public API (users make
 * loaders with `loaders.*` and never read the keys, and `mod.ts` exports
 * none of this), but the user API, the pipeline loaders, the worker and the
 * fingerprint all need it, so it lives in the bottom layer.
 *
 * The keys are `Symbol.for(...)`, so a loader made by one copy of this module
 * (the user's `jsr:@pivot/core`) is recognised by another (the running CLI).
 *
 * @module
 */

/** What a built-in loader is: its kind and options, part of the stage fingerprint. */
export interface LoaderSpec {
  /** Built-in loader name, such as `"csv"`. */
  readonly kind: string;
  /** The options it was created with (JSON-serialisable). */
  readonly options: Readonly<Record<string, unknown>>;
}

/** Key under which a built-in loader describes itself for fingerprinting. */
export const LOADER_SPEC: unique symbol = Symbol.for("pivot.loaderSpec");

/** Marks the path-only loader: the stage receives or writes a path itself. */
export const PATH_ONLY: unique symbol = Symbol.for("pivot.pathOnly");

/** True when `loader` was made by `loaders.pathOnly()`. */
export function isPathOnly(loader: unknown): loader is { readonly [PATH_ONLY]: true } {
  return typeof loader === "object" && loader !== null && PATH_ONLY in loader;
}

/** The spec of a built-in loader, or `undefined` for a custom one. */
export function loaderSpecOf(loader: unknown): LoaderSpec | undefined {
  if (typeof loader !== "object" || loader === null) return undefined;
  return (loader as { [LOADER_SPEC]?: LoaderSpec })[LOADER_SPEC];
}
