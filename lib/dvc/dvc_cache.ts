/**
 * DVC's local cache, read by `pivot import-dvc` to bring back data that is
 * not in the workspace (never checked out, or deleted) but that DVC still
 * holds: objects are `files/md5/ab/cdef…` (DVC 3) or `ab/cdef…` (DVC 2)
 * under the cache directory (`.dvc/cache`, or `cache.dir` in `.dvc/config`),
 * and a directory's object (`….dir`) is the JSON list of its files' md5 and
 * relpath.
 *
 * @module
 */

import { dirname, isAbsolute, join, resolve } from "node:path";

/**
 * The DVC cache directory of the DVC project at `root`: `configured` (its
 * `cache.dir`, relative to `.dvc/`) or `.dvc/cache`; undefined when it does
 * not exist.
 */
export function dvcCacheDir(root: string, configured: string | undefined): string | undefined {
  const dir = configured === undefined
    ? join(root, ".dvc", "cache")
    : isAbsolute(configured)
    ? configured
    : resolve(root, ".dvc", configured);
  try {
    return Deno.statSync(dir).isDirectory ? dir : undefined;
  } catch {
    return undefined;
  }
}

function objectPath(cacheDir: string, md5: string): string | undefined {
  for (
    const path of [
      join(cacheDir, "files", "md5", md5.slice(0, 2), md5.slice(2)),
      join(cacheDir, md5.slice(0, 2), md5.slice(2)),
    ]
  ) {
    try {
      if (Deno.statSync(path).isFile) return path;
    } catch {
      // not in this layout
    }
  }
  return undefined;
}

/**
 * Write the file or directory whose DVC md5 is `md5` at `dest` from the DVC
 * cache. Returns false (and writes nothing) when an object is missing.
 */
export async function restoreFromDvcCache(
  cacheDir: string,
  md5: string,
  dest: string,
): Promise<boolean> {
  const object = objectPath(cacheDir, md5);
  if (object === undefined) return false;
  const temp = `${dest}.${Deno.pid}.import.tmp`;
  try {
    if (!md5.endsWith(".dir")) {
      await Deno.mkdir(dirname(dest), { recursive: true });
      await Deno.copyFile(object, temp);
      await Deno.chmod(temp, 0o644);
    } else {
      const listing = JSON.parse(await Deno.readTextFile(object)) as {
        md5: string;
        relpath: string;
      }[];
      const files = listing.map((file) => ({ ...file, object: objectPath(cacheDir, file.md5) }));
      if (files.some((file) => file.object === undefined)) return false;
      for (const file of files) {
        const target = join(temp, file.relpath);
        await Deno.mkdir(dirname(target), { recursive: true });
        await Deno.copyFile(file.object!, target);
        await Deno.chmod(target, 0o644);
      }
      await Deno.mkdir(temp, { recursive: true });
    }
    await Deno.mkdir(dirname(dest), { recursive: true });
    await Deno.rename(temp, dest);
    return true;
  } finally {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
  }
}
