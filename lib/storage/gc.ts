/**
 * Garbage collection of the cache and the state store (`pivot gc`,
 * docs/gc.md): objects that no lock or `.pvt` file refers to (in the
 * workspace, or in every commit with `allCommits`), run-cache entries no
 * lock file's run made, and state entries about files and objects that are
 * gone.
 *
 * What is kept, precisely:
 * - every object a lock or `.pvt` file at the chosen revisions refers to,
 *   and for a directory its manifest and every file in it;
 * - every run-cache entry whose input hash is that of a lock file at the
 *   chosen revisions, and every object its outs name;
 * - every object created after the collection started (a run storing outs
 *   meanwhile); and nothing is collected while another `pivot` process
 *   holds a stage's execution lock (the caller checks).
 *
 * Objects are found with one synchronous walk of the cache's fan-out
 * directories; only objects to remove are `stat`ed (for their size).
 *
 * @module
 */

import { join } from "node:path";
import type { Cache } from "./cache.ts";
import type { Hash } from "./hash.ts";
import type { LockOut } from "./lock_file.ts";
import { collectReferences, expandManifests } from "./references.ts";
import { NS, type StateStore } from "./state.ts";

/** Options of {@link collectGarbage}. */
export interface GcOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache. */
  readonly cache: Cache;
  /** The project's state store. */
  readonly state: StateStore;
  /** Keep what any commit of any branch or tag refers to, not only the workspace. */
  readonly allCommits: boolean;
  /** Only report what would be removed (`-n`). */
  readonly dryRun: boolean;
  /** Directories the workspace walk skips (a cache inside the project). */
  readonly skip?: readonly string[];
  /** Extra lock files to read (the loaded stages', if any). */
  readonly lockFiles?: readonly string[];
  /** Told of each object removed (or, with `dryRun`, to be removed). */
  readonly onObject?: (hash: string, bytes: number) => void;
  /** Told what is being done, for a status line. */
  readonly progress?: (message: string) => void;
}

/** What {@link collectGarbage} did (or, with `dryRun`, would do). */
export interface GcReport {
  /** Cache objects removed, and their bytes. */
  readonly objects: { readonly removed: number; readonly bytes: number; readonly kept: number };
  /** Leftovers removed: corrupt objects set aside, temporary files of crashed writes. */
  readonly leftovers: { readonly removed: number; readonly bytes: number };
  /** Run-cache entries removed and kept. */
  readonly runCache: { readonly removed: number; readonly kept: number };
  /** State-store entries about files or objects that are gone, removed. */
  readonly stateEntries: number;
  /** What the references came from. */
  readonly references: {
    readonly lockFiles: number;
    readonly trackFiles: number;
    readonly commits: number;
  };
}

/** A run-cache entry as the engine writes it (`lib/engine/record.ts`). */
interface RunCacheEntry {
  readonly outs: readonly (LockOut & { readonly isDir?: boolean })[];
}

const OBJECT_NAME = /^[0-9a-f]{14}$/;
const FANOUT = /^[0-9a-f]{2}$/;
// A temporary file younger than this may belong to a write in progress.
const TEMP_GRACE_MS = 60 * 60 * 1000;

/**
 * Remove what nothing refers to from the cache and the state store (see the
 * module documentation for what is kept).
 *
 * Needs read and write access to the project's cache and state, and
 * `--allow-run=git` with `allCommits`.
 *
 * @throws {PivotError} for a lock or `.pvt` file that does not parse, or a
 * corrupt directory manifest: nothing is removed then.
 *
 * @example
 * ```ts
 * const report = await collectGarbage({ root, cache, state, allCommits: false, dryRun: true });
 * console.log(`${report.objects.removed} objects, ${report.objects.bytes} bytes`);
 * ```
 */
export async function collectGarbage(options: GcOptions): Promise<GcReport> {
  const { cache, state, dryRun } = options;
  // Objects created from now on (a run storing outs meanwhile) are kept: ctime has seconds.
  const started = Math.floor(Date.now() / 1000) * 1000;
  options.progress?.("gc: reading lock and .pvt files");
  const refs = await collectReferences(options);

  options.progress?.("gc: reading the run cache");
  const runEntries = await state.list<RunCacheEntry>([NS.run]);
  const doomedRuns: Deno.KvKey[] = [];
  for (const { key, value } of runEntries) {
    if (refs.inputHashes.has(key[2] as string)) {
      for (const out of value?.outs ?? []) {
        if (typeof out?.hash === "string") refs.objects.add(out.hash);
      }
    } else doomedRuns.push(key);
  }
  await expandManifests(cache, refs.objects);

  options.progress?.("gc: sweeping the cache");
  const removedObjects: Hash[] = [];
  let bytes = 0;
  let kept = 0;
  const leftovers = { removed: 0, bytes: 0 };
  const files = join(cache.dir, "files");
  for (const fanout of readDir(files)) {
    if (!fanout.isDirectory || !FANOUT.test(fanout.name)) continue;
    // Plain concatenation: `join` normalises every path, a third of the walk's time.
    const dir = `${files}/${fanout.name}/`;
    for (const entry of readDir(dir)) {
      const path = dir + entry.name;
      const hash = fanout.name + entry.name;
      if (OBJECT_NAME.test(entry.name)) {
        if (refs.objects.has(hash)) {
          kept++;
          continue;
        }
        const info = lstat(path);
        if (info === undefined) continue;
        if ((info.ctime?.getTime() ?? 0) >= started) {
          kept++;
          continue;
        }
        options.onObject?.(hash, info.size);
        removedObjects.push(hash);
        bytes += info.size;
        if (!dryRun) remove(path);
        continue;
      }
      // A corrupt object set aside, or a temporary file of a write that crashed.
      const info = lstat(path);
      if (info === undefined) continue;
      const stale = entry.name.endsWith(".corrupt") ||
        (entry.name.endsWith(".tmp") && Date.now() - (info.mtime?.getTime() ?? 0) > TEMP_GRACE_MS);
      if (!stale) continue;
      leftovers.removed++;
      leftovers.bytes += info.size;
      if (!dryRun) remove(path);
    }
  }

  options.progress?.("gc: pruning the state store");
  const doomedState = await staleStateEntries(options, new Set(removedObjects));
  if (!dryRun) await deleteKeys(state, [...doomedRuns, ...doomedState]);
  return {
    objects: { removed: removedObjects.length, bytes, kept },
    leftovers,
    runCache: { removed: doomedRuns.length, kept: runEntries.length - doomedRuns.length },
    stateEntries: doomedState.length,
    references: { lockFiles: refs.lockFiles, trackFiles: refs.trackFiles, commits: refs.commits },
  };
}

/**
 * State entries about what is gone: file hashes of workspace files that no
 * longer exist and of removed objects, parsed lock files that no longer
 * exist.
 */
async function staleStateEntries(
  options: GcOptions,
  removed: ReadonlySet<Hash>,
): Promise<Deno.KvKey[]> {
  const doomed: Deno.KvKey[] = [];
  for (const { key } of await options.state.list([NS.file])) {
    const name = key[1] as string;
    // `cache:<hash>`: an object's stamp, as older versions kept them (now
    // under NS.object); the objects are checked afresh on first use.
    if (name.startsWith("cache:")) doomed.push(key);
    else if (lstat(join(options.root, name)) === undefined) doomed.push(key);
  }
  // Keyed by an object's hash, or (chunks of stamps, the intact digest) by a manifest's.
  for (const ns of [NS.object, NS.dirObjects, NS.objectChunk]) {
    for (const { key } of await options.state.list([ns])) {
      if (removed.has(key[1] as string)) doomed.push(key);
    }
  }
  for (const { key } of await options.state.list([NS.lock])) {
    if (lstat(join(options.root, key[1] as string)) === undefined) doomed.push(key);
  }
  return doomed;
}

/** Delete `keys` in batches (Deno KV takes at most 1000 mutations a commit). */
export async function deleteKeys(state: StateStore, keys: readonly Deno.KvKey[]): Promise<void> {
  for (let start = 0; start < keys.length; start += 500) {
    const atomic = state.kv.atomic();
    for (const key of keys.slice(start, start + 500)) atomic.delete(key);
    await atomic.commit();
  }
}

function readDir(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return [];
    throw error;
  }
}

function lstat(path: string): Deno.FileInfo | undefined {
  try {
    return Deno.lstatSync(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

function remove(path: string): void {
  try {
    Deno.removeSync(path);
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}
