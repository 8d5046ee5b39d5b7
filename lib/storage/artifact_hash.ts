/**
 * Hashes of files and directories in the workspace, through the state
 * store's file-hash cache: a file whose path, mtime, size and inode are
 * unchanged is never re-read.
 *
 * `stat` is synchronous here on purpose: a no-op run stats every dep and out,
 * and a sync stat costs a few µs where an async one costs ~40 µs.
 *
 * @module
 */

import { join } from "node:path";
import { PivotError } from "../errors.ts";
import { statOrUndefined } from "../paths.ts";
import { type DirManifest, hashManifest, type ManifestEntry } from "./cache.ts";
import type { Hash } from "./hash.ts";
import { hashFile } from "./hash.ts";
import { isRacy, stampOf, type StateStore } from "./state.ts";

/** The hash of a file or directory as it is now. */
export type ArtifactHash =
  | { readonly isDir: false; readonly hash: Hash }
  | { readonly isDir: true; readonly hash: Hash; readonly manifest: DirManifest };

/** The hash of the file at `abs` (stat `info`), through the state cache under `rel`. */
async function hashStatted(
  abs: string,
  rel: string,
  info: Deno.FileInfo,
  state: StateStore,
): Promise<Hash> {
  const stamp = stampOf(info);
  const cached = await state.cachedFileHash(rel, stamp);
  if (cached !== undefined) return cached;
  const hash = await hashFile(abs);
  // A "racy" hash is not remembered (see isRacy). Outs Pivot writes itself
  // are remembered by the engine, which knows their content.
  if (!isRacy(stamp)) await state.rememberFileHash(rel, stamp, hash);
  return hash;
}

/**
 * Hash a dep or out: a file, or (with `isDir`) a directory as the hash of its
 * manifest. Returns undefined when it is missing or of the other kind.
 */
export async function hashArtifact(
  abs: string,
  rel: string,
  isDir: boolean,
  state: StateStore,
): Promise<ArtifactHash | undefined> {
  const info = statOrUndefined(abs);
  if (!info) return undefined;
  if (!isDir) {
    if (!info.isFile) return undefined;
    return { isDir: false, hash: await hashStatted(abs, rel, info, state) };
  }
  if (!info.isDirectory) return undefined;
  const files: ManifestEntry[] = [];
  for (const path of listFiles(abs)) {
    const fileAbs = join(abs, path);
    const hash = await hashStatted(fileAbs, `${rel}/${path}`, Deno.statSync(fileAbs), state);
    files.push({ path, hash });
  }
  const manifest = { files };
  return { isDir: true, hash: await hashManifest(manifest), manifest };
}

/** Every file under `dir` (following symlinks), as sorted POSIX relative paths. */
export function listFiles(dir: string): string[] {
  const result: string[] = [];
  const walk = (sub: string) => {
    for (const entry of Deno.readDirSync(sub === "" ? dir : join(dir, sub))) {
      const rel = sub === "" ? entry.name : `${sub}/${entry.name}`;
      let isDirectory = entry.isDirectory;
      if (entry.isSymlink) isDirectory = followLink(join(dir, rel)).isDirectory;
      if (isDirectory) walk(rel);
      else result.push(rel);
    }
  };
  walk("");
  return result.sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
}

function followLink(path: string): Deno.FileInfo {
  try {
    return Deno.statSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    throw new PivotError(`${path} is a broken symbolic link: fix it or remove it`);
  }
}
