/**
 * Making a new file from bytes in memory, with its stamp: the files of a
 * directory a stage returned (`loaders.files()`), written once by Pivot.
 *
 * @module
 */

import { writeNewFile } from "../libc_fs.ts";
import { type FileStamp, stampOf, stampOfLibc } from "./state.ts";

/**
 * Make the file `abs` (nothing there; its directory exists) with content
 * `bytes`, read-only (mode 0444) with `readOnly`: its stamp. Through libc
 * (lib/libc_fs.ts `writeNewFile`: open, write, `statx` of the open file,
 * close), else by Deno's calls, which throw as they do (`AlreadyExists`
 * when something is at `abs`).
 *
 * @example
 * ```ts ignore
 * const stamp = writeNewFileSync("gen/a.txt", new TextEncoder().encode("a\n"), true);
 * ```
 */
export function writeNewFileSync(abs: string, bytes: Uint8Array, readOnly: boolean): FileStamp {
  const made = writeNewFile(abs, bytes, readOnly);
  if (made !== undefined) return stampOfLibc(made);
  const mode = readOnly ? 0o444 : 0o666;
  using file = Deno.openSync(abs, { write: true, createNew: true, mode });
  if (readOnly) Deno.chmodSync(abs, 0o444);
  for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
  return stampOf(file.statSync());
}
