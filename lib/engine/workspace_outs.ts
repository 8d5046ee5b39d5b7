/**
 * Outs in the workspace: restoring locked outs from the cache, committing
 * what a stage wrote in its staging area (hash, cache, move into place), and
 * storing the workspace's outs as they are (`pivot commit`). Preparing and
 * checking the staging area itself is the worker's (`lib/worker/staging.ts`).
 *
 * @module
 */

import { dirname, join } from "node:path";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { OutputError } from "../errors.ts";
import {
  dirManifest,
  hashArtifact,
  listFiles,
  rememberDirectory,
} from "../storage/artifact_hash.ts";
import {
  type CheckoutMode,
  type DirManifest,
  hashManifest,
  sharesObject,
  tempPath,
} from "../storage/cache.ts";
import { type Hash, hashBytes, hashFile } from "../storage/hash.ts";
import type { LockOut } from "../storage/lock_file.ts";
import { stampOf } from "../storage/state.ts";
import type { EngineContext } from "./context.ts";
import { lstatOrUndefined } from "../paths.ts";
import { ignoreInGit } from "../storage/gitignore.ts";
import { refuseEscapingOut } from "./out_paths.ts";
import { ensureDir, forgetDir, removePath } from "../storage/ensure_dir.ts";

/**
 * List a cached out in the `.gitignore` beside it, so `git add -A` never adds
 * data; `cache: false` outs (metrics meant for git) stay visible to git.
 */
function ignoreCachedOut(context: EngineContext, out: OutDef): void {
  if (out.cache) ignoreInGit(context.project.root, out.abs);
}

/** Files of a directory out placed at once by {@link restoreOut}. */
const PLACE_JOBS = 8;

/** The checkout mode for an out: incremental outs are always copies. */
function modeFor(out: OutDef, mode: CheckoutMode): CheckoutMode {
  return out.kind === "incremental" ? "copy" : mode;
}

/**
 * Restore a locked out from the cache into the workspace, replacing what is
 * there. Returns false (and changes nothing) when an object is missing or
 * corrupt.
 */
export async function restoreOut(
  context: EngineContext,
  out: OutDef,
  locked: LockOut,
  mode: CheckoutMode,
): Promise<boolean> {
  const { cache, state, warn } = context;
  refuseEscapingOut(context.project.root, out);
  if (!out.isDir) {
    if (!(await cache.verify(locked.hash, state, warn))) return false;
    // A file is replaced by one rename; a directory in its place goes first.
    if (lstatOrUndefined(out.abs)?.isDirectory) removePath(out.abs);
    ensureDir(dirname(out.abs));
    await cache.place(locked.hash, out.abs, modeFor(out, mode));
    await rememberPlaced(state, out, { hash: locked.hash, manifest: undefined });
    ignoreCachedOut(context, out);
    return true;
  }
  const manifest = await cache.readManifest(locked.hash);
  if (!manifest) return false;
  for (const file of manifest.files) {
    if (!(await cache.verify(file.hash, state, warn))) return false;
  }
  // Build the directory beside its place, then swap it in. Files go
  // straight into the temporary folder (nothing sees it until the swap),
  // several at once: each copy is a few filesystem calls off the main
  // thread, and one at a time the process mostly waited for them.
  const temp = tempPath(out.abs);
  try {
    ensureDir(temp);
    let next = 0;
    const place = async () => {
      while (next < manifest.files.length) {
        const file = manifest.files[next++]!;
        const dest = join(temp, file.path);
        try {
          ensureDir(dirname(dest));
          await cache.placeNew(file.hash, dest, modeFor(out, mode));
        } catch (error) {
          next = manifest.files.length; // the others stop too
          throw error;
        }
      }
    };
    // Every worker has stopped before the folder is removed on a failure.
    const placed = await Promise.allSettled(Array.from({ length: PLACE_JOBS }, place));
    const failure = placed.find((result) => result.status === "rejected");
    if (failure) throw failure.reason;
    removePath(out.abs);
    ensureDir(dirname(out.abs));
    Deno.renameSync(temp, out.abs);
  } catch (error) {
    removePath(temp);
    throw error;
  }
  await rememberPlaced(state, out, { hash: locked.hash, manifest });
  ignoreCachedOut(context, out);
  return true;
}

/** A staged out, hashed. */
interface HashedOut {
  readonly out: OutDef;
  readonly staged: string;
  readonly hash: Hash;
  readonly manifest: DirManifest | undefined;
  /** For a directory: the total size of its files. */
  readonly size: number;
  /** A small file's content, read to hash it: stored from memory, not read again. */
  readonly bytes?: Uint8Array;
}

/**
 * Files up to this size are read whole, synchronously, hashed in memory and
 * written to the cache from memory: one read instead of two, and no trip
 * through Deno's blocking pool (an asynchronous open, reads and copy each
 * wait for a thread, which on a loaded machine cost milliseconds a stage).
 */
const SMALL_FILE = 1 << 20;

async function hashStaged(out: OutDef, staged: string): Promise<HashedOut> {
  if (!out.isDir) {
    if (Deno.lstatSync(staged).size <= SMALL_FILE) {
      const bytes = Deno.readFileSync(staged);
      return { out, staged, hash: await hashBytes(bytes), manifest: undefined, size: 0, bytes };
    }
    return { out, staged, hash: await hashFile(staged), manifest: undefined, size: 0 };
  }
  const files = [];
  let size = 0;
  for (const path of listFiles(staged)) {
    const file = join(staged, path);
    size += Deno.statSync(file).size;
    files.push({ path, hash: await hashFile(file) });
  }
  const manifest = { files };
  return { out, staged, hash: await hashManifest(manifest), manifest, size };
}

/**
 * Store the content of an out at `at` (a file, or a directory with
 * `manifest`) in the cache, linking when `link`.
 */
async function storeContent(
  cache: EngineContext["cache"],
  at: string,
  hashed: {
    readonly hash: Hash;
    readonly manifest: DirManifest | undefined;
    readonly bytes?: Uint8Array;
  },
  link: boolean,
): Promise<void> {
  if (!hashed.manifest) {
    if (hashed.bytes !== undefined && !link) await cache.storeBytes(hashed.bytes, hashed.hash);
    else await cache.storeFile(at, hashed.hash, link);
    return;
  }
  for (const file of hashed.manifest.files) {
    await cache.storeFile(join(at, file.path), file.hash, link);
  }
  await cache.storeManifest(hashed.manifest);
}

/** Remember the hashes of an out just placed in the workspace, so they are not re-read. */
async function rememberPlaced(
  state: EngineContext["state"],
  out: OutDef,
  hashed: { readonly hash: Hash; readonly manifest: DirManifest | undefined },
): Promise<void> {
  if (!hashed.manifest) {
    await state.rememberFileHash(out.path, stampOf(Deno.statSync(out.abs)), hashed.hash);
    return;
  }
  await rememberDirectory(out.abs, out.path, hashed.manifest, hashed.hash, state);
}

/** An out as a lock file records it: a directory with its file count and size. */
function lockOut(out: OutDef, hashed: HashedOut): LockOut {
  const base = { path: out.path, hash: hashed.hash, kind: out.kind };
  if (!hashed.manifest) return base;
  return { ...base, files: hashed.manifest.files.length, size: hashed.size };
}

/**
 * Commit a stage's staged outs: hash them, store them in the cache (unless
 * `noCommit`), and move them into the workspace. Every out, cached or not,
 * gets a cache object so the run cache can restore it; `cache: false` only
 * means it is not checked out from the cache.
 */
export async function commitStagedOuts(
  context: EngineContext,
  stage: StageDef,
  stagedDir: string,
  options: { readonly noCommit: boolean },
): Promise<LockOut[]> {
  // All or nothing: no out is placed if one would land outside the project.
  for (const out of stage.outs) refuseEscapingOut(context.project.root, out);
  const hashed = await Promise.all(
    stage.outs.map((out) => hashStaged(out, join(stagedDir, out.path))),
  );
  const { cache, state } = context;
  const result: LockOut[] = [];
  for (const item of hashed) {
    const { out, staged } = item;
    const mode = modeFor(out, context.checkoutMode);
    // Hard-linking the staged file into the cache makes the workspace file and
    // the object one read-only inode; copies keep the workspace file writable.
    const link = !options.noCommit && out.cache && mode === "hardlink";
    if (!options.noCommit) await storeContent(cache, staged, item, link);
    if (!options.noCommit && out.cache && sharesObject(mode)) {
      removePath(out.abs);
      ensureDir(dirname(out.abs));
      // The object may predate this run (same content as before): link to it.
      await placeFromCache(context, out, item, mode);
      removePath(staged);
    } else {
      moveIntoPlace(staged, out.abs);
    }
    await rememberPlaced(state, out, item);
    ignoreCachedOut(context, out);
    result.push(lockOut(out, item));
  }
  return result;
}

/**
 * Rename `staged` to `dest`, removing what is there first (a directory, or
 * a file: renaming over a file the previous run wrote costs as much as the
 * unlink, see docs/performance.md, "Full runs").
 */
function moveIntoPlace(staged: string, dest: string): void {
  removePath(dest);
  ensureDir(dirname(dest));
  try {
    Deno.renameSync(staged, dest);
  } catch (error) {
    // Its directory removed since this process made it: make it again.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    forgetDir(dirname(dest));
    ensureDir(dirname(dest));
    Deno.renameSync(staged, dest);
  }
}

async function placeFromCache(
  context: EngineContext,
  out: OutDef,
  item: HashedOut,
  mode: CheckoutMode,
): Promise<void> {
  if (!item.manifest) {
    await context.cache.place(item.hash, out.abs, mode);
    return;
  }
  for (const file of item.manifest.files) {
    const dest = join(out.abs, file.path);
    ensureDir(dirname(dest));
    await context.cache.place(file.hash, dest, mode);
  }
}

/** Put a workspace out that is intact but missing from the cache back into it. */
export async function recacheOut(
  context: EngineContext,
  out: OutDef,
  locked: LockOut,
): Promise<void> {
  if (!out.isDir) {
    await context.cache.storeFile(out.abs, locked.hash, false);
    return;
  }
  await storeContent(context.cache, out.abs, await hashStaged(out, out.abs), false);
}

/**
 * Store a stage's outs as they are in the workspace (for `pivot commit`).
 * Throws an {@link OutputError} naming the first missing out.
 */
export async function storeWorkspaceOuts(
  context: EngineContext,
  stage: StageDef,
): Promise<LockOut[]> {
  const result: LockOut[] = [];
  for (const out of stage.outs) {
    const now = await hashArtifact(out.abs, out.path, out.isDir, context.state, context.cache);
    if (!now) {
      throw new OutputError(
        `stage '${stage.name}': out '${out.name}' (${out.path}) is missing: run the stage (pivot repro ${stage.name}) instead of committing it`,
      );
    }
    const link = out.cache && modeFor(out, context.checkoutMode) === "hardlink";
    // A directory the index answered for has its manifest in the cache, but
    // maybe not its files: commit needs the list to store them.
    const manifest = now.isDir
      ? await dirManifest(now, context.cache) ?? (await hashStaged(out, out.abs)).manifest
      : undefined;
    await storeContent(context.cache, out.abs, { hash: now.hash, manifest }, link);
    ignoreCachedOut(context, out);
    result.push(
      now.isDir
        ? { path: out.path, hash: now.hash, kind: out.kind, files: now.files, size: now.size }
        : { path: out.path, hash: now.hash, kind: out.kind },
    );
  }
  return result;
}
