/**
 * What `push`, `fetch` and `pull` transfer: the outs that the project's lock
 * files record (every pipeline's, `<dir>/.pivot/stages/*.lock`) and the
 * tracked data that its `.pvt` files record (SPEC §10), optionally limited
 * by `TARGETS` (stage names or patterns, out paths, tracked paths, or
 * folders holding them).
 *
 * Nothing here loads the pipeline: the lock and `.pvt` files say everything
 * a transfer needs, so `push` and `fetch` work (and start fast) even where
 * the pipeline's code cannot be loaded, a CI job that only moves data, say.
 *
 * @module
 */

import { basename } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import { matchStageNames } from "../pipeline/select.ts";
import type { Cache } from "../storage/cache.ts";
import type { Hash } from "../storage/hash.ts";
import { readLock } from "../storage/lock_file.ts";
import { findProjectFiles } from "../storage/project_files.ts";
import type { StateStore } from "../storage/state.ts";
import { readTrackFile } from "../storage/track_file.ts";

/** An out recorded by a lock file, or tracked data recorded by a `.pvt` file. */
export interface RecordedData {
  /** Project-relative path of the data. */
  readonly path: string;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /**
   * True for a directory, false for a file; undefined when the record does
   * not say (lock files written before directories carried their file
   * count): {@link isManifestObject} decides once the object is local.
   */
  readonly isDir: boolean | undefined;
  /** The stage whose lock file records it (undefined for tracked data). */
  readonly stage: StageRef | undefined;
}

/** A stage known from its lock file. */
export interface StageRef {
  /** Its name: the lock file's name without `.lock`. */
  readonly name: string;
  /** Its key in the state store and the run cache: the lock file's project-relative path. */
  readonly key: string;
}

/** Everything the project records. */
export interface ProjectRecords {
  /** Outs and tracked data. */
  readonly data: readonly RecordedData[];
  /** Every stage with a lock file. */
  readonly stages: readonly StageRef[];
}

/**
 * Read every lock file and `.pvt` file of the project (one walk; lock files
 * through the state store's parse cache).
 *
 * @throws {PivotError} for a lock or `.pvt` file that does not parse, naming it.
 *
 * @example
 * ```ts ignore
 * const { data, stages } = await readProjectRecords(project, state, skip);
 * ```
 */
export async function readProjectRecords(
  project: Project,
  state: StateStore,
  skip: readonly string[],
): Promise<ProjectRecords> {
  const files = findProjectFiles(project.root, skip);
  const data: RecordedData[] = [];
  const stages: StageRef[] = [];
  for (const lockFile of files.lockFiles) {
    const key = lockFile.slice(project.root.length + 1);
    const lock = await readLock(lockFile, key, state);
    if (lock === undefined) continue;
    const stage = { name: basename(lockFile).slice(0, -".lock".length), key };
    stages.push(stage);
    for (const out of lock.outs) {
      // A directory is recorded with its file count (SPEC §5).
      const files = (out as { readonly files?: unknown }).files;
      data.push({
        path: out.path,
        hash: out.hash,
        isDir: typeof files === "number" ? true : undefined,
        stage,
      });
    }
  }
  for (const trackFile of files.trackFiles) {
    const tracked = await readTrackFile(trackFile, project.root);
    if (tracked === undefined) continue;
    data.push({
      path: tracked.path,
      hash: tracked.hash,
      isDir: tracked.files !== undefined,
      stage: undefined,
    });
  }
  return { data, stages };
}

/** What `TARGETS` select. */
export interface Selection {
  /** The outs and tracked data selected. */
  readonly data: readonly RecordedData[];
  /** The stages selected (by name, or as owners of selected outs). */
  readonly stages: readonly StageRef[];
  /** No targets were given: everything is selected, run-cache entries of any stage too. */
  readonly everything: boolean;
}

/**
 * The records that `targets` select: a stage name or pattern (`train`,
 * `train@*`) selects that stage's outs; a path (relative to `cwd`, turned
 * into a project-relative one by `toProjectPath`) selects the out or tracked
 * data at that path, every one under it (a folder), or the directory out
 * holding it. No targets select everything.
 *
 * @throws {PivotError} for a target that selects nothing, naming it.
 *
 * @example
 * ```ts ignore
 * selectRecords(records, ["train", "data/raw"], (p) => p);
 * ```
 */
export function selectRecords(
  records: ProjectRecords,
  targets: readonly string[],
  toProjectPath: (target: string) => string,
): Selection {
  if (targets.length === 0) return { ...records, everything: true };
  const data = new Set<RecordedData>();
  const stages = new Set<StageRef>();
  const names = records.stages.map((stage) => stage.name);
  for (const target of targets) {
    let byName: Set<string> | undefined;
    try {
      byName = new Set(matchStageNames([target], names));
    } catch {
      byName = undefined;
    }
    if (byName !== undefined) {
      for (const stage of records.stages) if (byName.has(stage.name)) stages.add(stage);
      for (const item of records.data) {
        if (item.stage && byName.has(item.stage.name)) data.add(item);
      }
      continue;
    }
    const path = toProjectPath(target).replace(/\/+$/, "");
    const found = records.data.filter((item) =>
      item.path === path || item.path.startsWith(`${path}/`) || path.startsWith(`${item.path}/`) ||
      path === "" || path === "."
    );
    if (found.length === 0) {
      throw new PivotError(
        `'${target}' is neither a stage with a lock file, an out nor tracked data: ` +
          `run 'pivot list --deps' to see them (a stage that never ran has nothing to transfer)`,
      );
    }
    for (const item of found) {
      data.add(item);
      if (item.stage) stages.add(item.stage);
    }
  }
  return { data: [...data], stages: [...stages], everything: false };
}

const MANIFEST_START = new TextEncoder().encode('{"files":[');

/**
 * True when the cache object `hash` is a directory manifest (its canonical
 * JSON starts `{"files":[`), judged from its first bytes; false when it is
 * not, or not in the cache.
 *
 * @example
 * ```ts ignore
 * isManifestObject(cache, "0123456789abcdef"); // false for a data file
 * ```
 */
export function isManifestObject(cache: Cache, hash: Hash): boolean {
  let file: Deno.FsFile;
  try {
    file = Deno.openSync(cache.objectPath(hash));
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
  try {
    const head = new Uint8Array(MANIFEST_START.length);
    let filled = 0;
    while (filled < head.length) {
      const n = file.readSync(head.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    return filled === head.length && head.every((byte, i) => byte === MANIFEST_START[i]);
  } finally {
    file.close();
  }
}
