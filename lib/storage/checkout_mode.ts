/**
 * The checkout modes, apart from the cache (lib/storage/cache.ts): the
 * configuration's validation (lib/pipeline/project_config.ts) needs only
 * these, and the launcher's fast answer of a no-op (lib/cli/noop_answer.ts)
 * then loads none of the cache's modules.
 *
 * @module
 */

/**
 * How a cached object is placed in the workspace (docs/cache.md):
 *
 * - `reflink` (the default): a copy-on-write clone where the filesystem
 *   offers one (btrfs, XFS, APFS…), else a plain copy. Either way the
 *   workspace file is independent of the object.
 * - `copy`: an independent copy.
 * - `hardlink`, `symlink`: the workspace file *is* the object (opt-in). A
 *   write in place changes the object; Pivot notices from its stamp and
 *   never trusts it again (`Cache.verify`, lib/storage/cache.ts).
 */
export type CheckoutMode = "reflink" | "copy" | "hardlink" | "symlink";

/** The checkout modes, for validation. */
export const CHECKOUT_MODES: readonly CheckoutMode[] = ["reflink", "copy", "hardlink", "symlink"];

/** The mode used when neither `cache.type` nor `--mode` says otherwise. */
export const DEFAULT_CHECKOUT_MODE: CheckoutMode = "reflink";
