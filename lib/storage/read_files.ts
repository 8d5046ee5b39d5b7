/**
 * Reading a directory dep with `loaders.files()` for its stage: Pivot reads
 * every file outside the stage's sandbox and hands them over packed, as the
 * files of a returned directory come back (lib/model/returned_files.ts).
 *
 * @module
 */

import { listFiles, withSlash } from "../dir_walk.ts";
import { readDirEntries, readSmall } from "../libc_fs.ts";
import { FilesPacker, type ReturnedFiles } from "../model/returned_files.ts";

/** Files up to this size are read through libc in four calls; a larger one by `Deno.readFileSync`. */
const READ_SMALL = 1 << 20;

/**
 * Every file under the directory `dir` (following symbolic links, as its
 * hash does: lib/dir_walk.ts `listFiles`), read whole: their paths relative
 * to `dir`, sorted, and their contents packed into one `SharedArrayBuffer`
 * ({@link ReturnedFiles}), so that posting them to the stage's worker copies
 * nothing. Throws as `Deno.readFileSync` does for a file that cannot be read.
 *
 * @example
 * ```ts ignore
 * const { paths } = readFilesUnder("/project/data");
 * ```
 */
export function readFilesUnder(dir: string): ReturnedFiles {
  // Listed through libc's `getdents64` (lib/libc_fs.ts), as a large directory's hash lists it.
  const sorted = listFiles(dir, undefined, undefined, readDirEntries);
  const base = withSlash(dir);
  const packer = new FilesPacker(sorted.length);
  for (const path of sorted) {
    const abs = base + path;
    packer.bytes(readSmall(abs, READ_SMALL)?.bytes ?? Deno.readFileSync(abs));
  }
  return packer.finish(sorted);
}
