/**
 * Tracked data (`pivot track`/`untrack`, SPEC §9, docs/track.md): files and
 * directories no stage produces, cached, and recorded in a `PATH.pvt` file
 * beside them (`track_file.ts`) with a `.gitignore` line, so that git holds
 * the record and Pivot's cache (and remotes) the content. A stage may depend
 * on tracked data like on any file; `status`, `checkout`, `verify` and `gc`
 * find every `.pvt` file of the project.
 *
 * @module
 */

import { join, relative } from "../posix_path.ts";
import { dirManifest, hashArtifact } from "./artifact_hash.ts";
import type { Cache } from "./cache.ts";
import { writeTextAtomically } from "./temp_files.ts";
import { ignoreInGit, unignoreInGit } from "./gitignore.ts";
import type { Hash } from "./hash.ts";
import { findProjectFiles } from "./project_files.ts";
import type { StateStore } from "./state.ts";
import {
  readTrackFile,
  type TrackedData,
  trackFileOf,
  trackFileText,
  type TrackRecord,
} from "./track_file.ts";

/** What {@link trackPath} did. */
export interface TrackResult {
  /** Project-relative path of the data. */
  readonly path: string;
  /** `tracked` (new), `updated` (its content changed since) or `unchanged`. */
  readonly status: "tracked" | "updated" | "unchanged";
  /** Its record. */
  readonly record: TrackRecord;
}

/** Options of {@link trackPath}. */
export interface TrackOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache. */
  readonly cache: Cache;
  /** The state store (file hashes). */
  readonly state: StateStore;
  /**
   * Store files as hard links to the workspace file (`cache.type: hardlink`),
   * else as copies: the workspace file stays independent of the cache.
   */
  readonly link: boolean;
}

/**
 * Track the file or directory at `abs`: store its content in the cache,
 * write `abs.pvt` (atomically), and list it in the `.gitignore` beside it.
 * Tracking again records the current content.
 *
 * Needs read access to the data and write access to the cache, the data's
 * directory and the state store.
 *
 * @throws {Deno.errors.NotFound} when nothing is at `abs`.
 *
 * @example
 * ```ts
 * const result = await trackPath("/work/project/data/raw.csv", { root, cache, state, link: false });
 * result.record; // { path: "raw.csv", hash: "…", size: 1234 }
 * ```
 */
export async function trackPath(abs: string, options: TrackOptions): Promise<TrackResult> {
  const { root, cache, state } = options;
  const rel = relative(root, abs).split("\\").join("/");
  const isDir = Deno.statSync(abs).isDirectory;
  const hashed = await hashArtifact(abs, rel, isDir, state, cache);
  if (hashed === undefined) throw new Deno.errors.NotFound(`${abs} vanished while being tracked`);
  let record: TrackRecord;
  if (!hashed.isDir) {
    await cache.storeFile(abs, hashed.hash, options.link);
    record = { path: basename(abs), hash: hashed.hash, size: Deno.statSync(abs).size };
  } else {
    // The manifest was computed now, or the directory index answered and
    // it is a cache object already.
    const manifest = await dirManifest(hashed, cache);
    if (manifest === undefined) {
      throw new Deno.errors.NotFound(`the manifest of ${abs} is missing from the cache`);
    }
    let size = 0;
    for (const file of manifest.files) {
      const path = join(abs, file.path);
      size += Deno.statSync(path).size;
      await cache.storeFile(path, file.hash, options.link);
    }
    await cache.storeManifest(manifest);
    record = {
      path: basename(abs),
      hash: hashed.hash,
      size,
      files: manifest.files.length,
    };
  }
  const trackFile = trackFileOf(abs);
  const previous = await readTrackFile(trackFile, root);
  const status = previous === undefined
    ? "tracked"
    : previous.hash === record.hash && previous.size === record.size &&
        previous.files === record.files
    ? "unchanged"
    : "updated";
  if (status !== "unchanged") writeTextAtomically(trackFile, await trackFileText(record));
  ignoreInGit(root, abs);
  return { path: rel, status, record };
}

/**
 * Stop tracking the data whose `.pvt` file is `trackFile`: remove the `.pvt`
 * file and its `.gitignore` line. The data and its cache objects stay (`pivot
 * gc` removes objects nothing refers to).
 *
 * @example
 * ```ts
 * untrackPath(tracked);
 * ```
 */
export function untrackPath(tracked: TrackedData): void {
  Deno.removeSync(tracked.trackFile);
  unignoreInGit(tracked.abs);
}

/** How tracked data is in the workspace, compared with its `.pvt` record. */
export interface TrackedStatus {
  /** The record. */
  readonly data: TrackedData;
  /** `up-to-date`, `modified` (its content differs from the record) or `missing`. */
  readonly status: "up-to-date" | "modified" | "missing";
  /** Its hash now (undefined when missing). */
  readonly hash: Hash | undefined;
}

/**
 * Every tracked path of the project (every `.pvt` file), with how it is in
 * the workspace. Hashes come through the state store's file-hash cache, so
 * unchanged data is not read again.
 *
 * @throws {PivotError} for a `.pvt` file that does not parse.
 *
 * @example
 * ```ts
 * for (const { data, status } of await trackedStatus(root, state)) console.log(data.path, status);
 * ```
 */
export async function trackedStatus(
  root: string,
  state: StateStore,
  skip: readonly string[] = [],
): Promise<TrackedStatus[]> {
  const result: TrackedStatus[] = [];
  for (const data of await trackedData(root, skip)) {
    const isDir = data.files !== undefined;
    const now = await hashArtifact(data.abs, data.path, isDir, state);
    result.push({
      data,
      status: now === undefined ? "missing" : now.hash === data.hash ? "up-to-date" : "modified",
      hash: now?.hash,
    });
  }
  return result;
}

/**
 * Every tracked path of the project, as its `.pvt` file records it, sorted
 * by path.
 *
 * @throws {PivotError} for a `.pvt` file that does not parse.
 *
 * @example
 * ```ts
 * const tracked = await trackedData("/work/project");
 * ```
 */
export async function trackedData(
  root: string,
  skip: readonly string[] = [],
): Promise<TrackedData[]> {
  const result: TrackedData[] = [];
  for (const file of findProjectFiles(root, skip, { lockFiles: false }).trackFiles) {
    const data = await readTrackFile(file, root);
    if (data) result.push(data);
  }
  return result.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}

function basename(abs: string): string {
  return abs.slice(abs.lastIndexOf("/") + 1);
}
