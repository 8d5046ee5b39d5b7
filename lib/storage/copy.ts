/**
 * Copying and hard-linking files and directory trees. A copy is always
 * writable by its owner (mode 0644), even when its source is a read-only
 * cache object: a copy is what the user (or an incremental stage) may change.
 *
 * @module
 */

import { join } from "node:path";

/**
 * Hard-link `source` at `dest` (where nothing is); false when that is not
 * possible (across filesystems, links not allowed, `source` missing), so the
 * caller can copy or symlink instead.
 *
 * @throws {Deno.errors.AlreadyExists} when something is at `dest` already:
 * the caller's mistake, not the filesystem's refusal.
 */
export function tryHardLink(source: string, dest: string): boolean {
  try {
    Deno.linkSync(source, dest);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) throw error;
    return false;
  }
}

/** Copy the file `source` to `dest` (replacing it), writable. */
export async function copyWritable(source: string, dest: string): Promise<void> {
  await Deno.copyFile(source, dest);
  await Deno.chmod(dest, 0o644);
}

/**
 * Copy the directory tree at `from` into `to` (created if missing), each file
 * with {@link copyWritable}. `include` can leave entries out: a directory
 * left out is not entered.
 */
export async function copyTree(
  from: string,
  to: string,
  include: (entry: Deno.DirEntry) => boolean = () => true,
): Promise<void> {
  await Deno.mkdir(to, { recursive: true });
  for await (const entry of Deno.readDir(from)) {
    if (!include(entry)) continue;
    const source = join(from, entry.name);
    const dest = join(to, entry.name);
    if (entry.isDirectory) await copyTree(source, dest, include);
    else await copyWritable(source, dest);
  }
}
