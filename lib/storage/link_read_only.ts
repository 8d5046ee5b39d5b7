/**
 * A cache object made of a file already written and hashed: a hard link to
 * it at the object's own name, then made read-only. Shared by the cache
 * (lib/storage/cache.ts) and the helper thread that makes a directory's
 * objects beside it (lib/storage/stat_many.ts).
 *
 * @module
 */

/** What {@link linkReadOnly} did. */
export type LinkOutcome = "linked" | "exists" | "refused";

/**
 * Make `dest` (a cache object's path, whose parent exists) a hard link to
 * `source`, read-only: "linked"; "exists" when something is at `dest`
 * already; "refused" when the filesystem does not allow the link (another
 * filesystem, links not allowed, `source` missing). Nothing is changed
 * unless it returns "linked"; a failed `chmod` removes the link and throws.
 *
 * No temporary name and rename: a link makes the object whole in one call,
 * its content the file's, which the caller hashed. `chmod` comes after the
 * link, so that a refused or existing link leaves `source`'s mode alone (a
 * workspace file not stored by link stays writable). Until the `chmod` the
 * object is writable: its content is already right, and the mode only
 * guards against writes through a workspace link, which a remembered stamp
 * catches anyway (the caller remembers it after this returns, so an object
 * a crash left writable is re-read when next checked).
 *
 * @example
 * ```ts ignore
 * if (linkReadOnly("gen/a.txt", ".pivot/cache/files/ab/cdef") === "linked") {
 *   // the object is gen/a.txt's inode, mode 0444
 * }
 * ```
 */
export function linkReadOnly(source: string, dest: string): LinkOutcome {
  try {
    Deno.linkSync(source, dest);
  } catch (error) {
    return error instanceof Deno.errors.AlreadyExists ? "exists" : "refused";
  }
  try {
    Deno.chmodSync(dest, 0o444);
  } catch (error) {
    try {
      Deno.removeSync(dest);
    } catch {
      // gone already
    }
    throw error;
  }
  return "linked";
}

/**
 * Make `dest` (a cache object's path, whose parent exists) a hard link to
 * `source`, a file made read-only already (mode 0444, as the files of a
 * directory a stage returned are written): {@link linkReadOnly} without its
 * `chmod`. "exists" when something is at `dest`; "refused" when the
 * filesystem does not allow the link.
 *
 * @example
 * ```ts ignore
 * linkMadeReadOnly("gen/a.txt", ".pivot/cache/files/ab/cdef"); // "linked"
 * ```
 */
export function linkMadeReadOnly(source: string, dest: string): LinkOutcome {
  try {
    Deno.linkSync(source, dest);
    return "linked";
  } catch (error) {
    return error instanceof Deno.errors.AlreadyExists ? "exists" : "refused";
  }
}
