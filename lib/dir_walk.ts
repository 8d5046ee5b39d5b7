/**
 * Walking a directory and digesting its files' stamps, apart from
 * lib/storage/artifact_hash.ts so that the launcher's no-op gate
 * (lib/noop_stamps.ts) can settle a directory with the very walk and digest
 * the directory index uses, without loading the storage layer.
 *
 * @module
 */

import { join } from "./posix_path.ts";
import { PivotError } from "./errors.ts";
import type { DirEntryLike } from "./libc_fs.ts";

/** A file's stamp, as lib/storage/state.ts's `FileStamp`. */
export interface WalkStamp {
  readonly mtime: number;
  readonly size: number;
  readonly ino: number;
}

/**
 * Every file under `dir` (following symlinks), as sorted POSIX relative
 * paths; directories for which `skip` is true (given their relative path)
 * are not entered. Each directory is read by `read` (default
 * `Deno.readDirSync`; lib/libc_fs.ts's `readDirEntries` for a large
 * one).
 */
export function listFiles(
  dir: string,
  skip?: (rel: string) => boolean,
  onDir?: (rel: string, info: Deno.FileInfo | undefined) => void,
  read: (path: string) => Iterable<DirEntryLike> = Deno.readDirSync,
): string[] {
  const result: string[] = [];
  const base = withSlash(dir);
  const walk = (sub: string) => {
    const path = sub === "" ? dir : base + sub;
    const prefix = sub === "" ? "" : `${sub}/`;
    if (onDir !== undefined) onDir(sub, Deno.statSync(path));
    // Each directory's entries sorted by name, a directory's name with its
    // "/": then every path under it sorts where that key does among its
    // siblings (no name holds "/"), so visiting in this order yields the
    // whole list sorted by UTF-16 code units, as one sort of every path
    // would, for short sorts of names instead of one of 100,000 long paths
    // (about half the CPU).
    const keys: string[] = [];
    for (const entry of read(path)) {
      let isDirectory = entry.isDirectory;
      if (entry.isSymlink) {
        isDirectory = followLink(base + prefix + entry.name).isDirectory;
        if (onDir !== undefined) onDir(prefix + entry.name, undefined);
      }
      keys.push(isDirectory ? `${entry.name}/` : entry.name);
    }
    keys.sort();
    for (const key of keys) {
      if (!key.endsWith("/")) result.push(prefix + key);
      else {
        const rel = prefix + key.slice(0, -1);
        if (skip === undefined || !skip(rel)) walk(rel);
      }
    }
  };
  walk("");
  return result;
}

/**
 * `dir` normalised, ending in `/`, to which a path of {@link listFiles} is
 * appended: `join` normalises every path it makes, a tenth of a walk of
 * 10,000 files.
 */
export function withSlash(dir: string): string {
  const normal = join(dir);
  return normal.endsWith("/") ? normal : `${normal}/`;
}

const encoder = new TextEncoder();

/**
 * A digest of the files' paths and stamps (WebCrypto: nothing to import):
 * SHA-1 of the count, the paths joined by NUL (which no path holds) and
 * each stamp's three numbers as 64-bit floats (exact: integers below
 * 2^53). Numbers in a typed array, not text: formatting 300,000 numbers
 * into one string took 0.1-0.5 s for 100,000 files, five times this.
 */
export async function stampsDigest(
  files: readonly { readonly path: string; readonly stamp: WalkStamp }[],
): Promise<string> {
  const numbers = new Float64Array(2 + files.length * 3);
  const paths = new Array<string>(files.length);
  let i = 0;
  for (const { path, stamp } of files) {
    const at = 2 + i * 3;
    paths[i] = path;
    numbers[at] = stamp.mtime;
    numbers[at + 1] = stamp.size;
    numbers[at + 2] = stamp.ino;
    i++;
  }
  const text = encoder.encode(paths.join("\0"));
  numbers[0] = files.length;
  numbers[1] = text.length;
  const bytes = new Uint8Array(numbers.byteLength + text.length);
  bytes.set(new Uint8Array(numbers.buffer));
  bytes.set(text, numbers.byteLength);
  const digest = new Uint8Array(await crypto.subtle.digest("SHA-1", bytes));
  return Array.from(digest, (b) => b.toString(16).padStart(2, "0")).join("");
}

function followLink(path: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new PivotError(`${path} is a broken symbolic link: fix it or remove it`);
  }
}

/**
 * A listing of a directory ({@link listFiles}) with the stamp of every
 * directory in it (absolute paths), each taken before it was read.
 */
export interface Listing {
  readonly paths: readonly string[];
  readonly dirs: readonly { readonly path: string; readonly stamp: WalkStamp }[];
}

/**
 * The last listings of directories (by absolute path) noted by the
 * directory index's walks (lib/storage/artifact_hash.ts); a few only (a
 * stage's decision and the check under its lock come one after the other),
 * so memory stays bounded whatever the pipeline holds.
 */
const listings = new Map<string, Listing>();
const LISTINGS_KEPT = 4;

/**
 * Note `listing` as the last of `abs` (undefined: forget it): only a
 * listing none of whose directories' stamps was racy and that followed no
 * symlink (what changes behind one changes no stamp here).
 */
export function noteListing(abs: string, listing: Listing | undefined): void {
  listings.delete(abs);
  if (listing === undefined) return;
  listings.set(abs, listing);
  if (listings.size > LISTINGS_KEPT) listings.delete(listings.keys().next().value!);
}

/** The listing last noted for `abs` ({@link noteListing}), whether it still holds or not. */
export function notedListing(abs: string): Listing | undefined {
  return listings.get(abs);
}

/**
 * Whether every directory of `listing` still has its stamp: then its files
 * are those listed, since a file added, removed or renamed changes its
 * directory's mtime (a file rewritten in place does not, and is not listed
 * anew: its own stamp tells). A `stat` per directory instead of reading it.
 */
export function listingHolds(listing: Listing): boolean {
  for (const { path, stamp } of listing.dirs) {
    let info: Deno.FileInfo;
    try {
      info = Deno.statSync(path);
    } catch {
      return false;
    }
    if (
      !info.isDirectory || (info.mtime?.getTime() ?? 0) !== stamp.mtime ||
      info.size !== stamp.size || (info.ino ?? 0) !== stamp.ino
    ) return false;
  }
  return true;
}

/**
 * The {@link stampsDigest} of the files under `abs` now, walked as
 * {@link listFiles} walks (one `stat` a file, following symlinks), with the
 * number of files; the files of `listing` when it holds
 * ({@link listingHolds}), without reading a directory. Undefined when
 * `abs` is not a directory or a path in it cannot be stat-ed (removed
 * meanwhile, a broken link). Makes no racy check: only for comparing with
 * a digest recorded when every file was settled.
 */
export async function walkDigest(
  abs: string,
  listing?: Listing,
): Promise<{ digest: string; files: number } | undefined> {
  const files: { path: string; stamp: WalkStamp }[] = [];
  try {
    if (!Deno.statSync(abs).isDirectory) return undefined;
    const base = withSlash(abs);
    const paths = listing !== undefined && listingHolds(listing) ? listing.paths : listFiles(abs);
    for (const path of paths) {
      const info = Deno.statSync(base + path);
      files.push({
        path,
        stamp: { mtime: info.mtime?.getTime() ?? 0, size: info.size, ino: info.ino ?? 0 },
      });
    }
  } catch {
    return undefined;
  }
  return { digest: await stampsDigest(files), files: files.length };
}
