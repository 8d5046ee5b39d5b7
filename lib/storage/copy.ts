/**
 * Copying and hard-linking files and directory trees. A copy is always
 * writable by its owner (mode 0644), even when its source is a read-only
 * cache object: a copy is what the user (or an incremental stage) may change.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import { type FileStamp, stampOf } from "./state.ts";
import { copyFromMemory } from "./_copy_small.ts";

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

/** Files up to this size are copied by {@link copySmallNew} from memory. */
export const SMALL_COPY = 1 << 20;

/**
 * Copy the file `source`, of `size` bytes (at most {@link SMALL_COPY}), to a
 * new file `dest` (where nothing is) with one read and one write, all
 * synchronous, writable (0644 whatever the umask); returns the copy's stamp.
 * Undefined (and nothing at `dest`) when `source` no longer has `size`
 * bytes: copy it with {@link copyWritable} then.
 *
 * For the files of a directory checkout: `Deno.copyFile` costs two opens
 * more, a `copy_file_range` probe, an `fchmod`, the `chmod` to make it
 * writable and a `stat` after, each async call handed to another thread;
 * this is `cp`'s open, read, open, write, in three Deno calls
 * (`copyFromMemory`, lib/storage/_copy_small.ts). (No clone: `reflink`
 * mode keeps `Deno.copyFile`, which clones where the filesystem can.)
 *
 * @throws {Deno.errors.AlreadyExists} when something is at `dest`.
 */
export function copySmallNew(source: string, dest: string, size: number): FileStamp | undefined {
  const info = copyFromMemory(source, dest, size);
  return info && stampOf(info);
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

/**
 * Copy the file or directory tree at `from` to `to` (where nothing is), each
 * file writable: what cannot be linked or renamed across filesystems.
 */
export function copyTreeSync(from: string, to: string): void {
  if (!Deno.statSync(from).isDirectory) {
    Deno.copyFileSync(from, to);
    Deno.chmodSync(to, 0o644);
    return;
  }
  Deno.mkdirSync(to, { recursive: true });
  for (const entry of Deno.readDirSync(from)) {
    copyTreeSync(join(from, entry.name), join(to, entry.name));
  }
}
