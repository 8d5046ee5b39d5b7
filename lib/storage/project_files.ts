/**
 * Pivot's own files everywhere in a project: the lock files of every
 * pipeline (`<dir>/.pivot/stages/*.lock`) and every `.pvt` file of tracked
 * data. Commands that must see the whole project, not only the pipeline
 * they run in (`gc`, `verify`, `checkout` and `status` of tracked data,
 * `metrics`), start here.
 *
 * One synchronous walk (a sync `readDir` costs a few µs, an async one
 * ~40 µs). It never descends into `.git/`, `node_modules/`, a `.pivot/`
 * other than its `stages/`, the cache, or a directory that is itself
 * tracked data (`data/` beside `data.pvt`): data directories can hold
 * millions of files and no Pivot file.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import { PIVOT_DIR } from "../model/project.ts";
import { listTreeAtRevision } from "./read_at_revision.ts";

/** Lock and `.pvt` files of a project, as absolute paths, sorted. */
export interface ProjectFiles {
  /** Every `<pipeline dir>/.pivot/stages/<stage>.lock`. */
  readonly lockFiles: readonly string[];
  /** Every `PATH.pvt`. */
  readonly trackFiles: readonly string[];
}

/** The extension of the files `pivot track` writes. */
export const TRACK_EXTENSION = ".pvt";

const SKIPPED = new Set([".git", "node_modules"]);

/**
 * Every lock file and `.pvt` file under `root` (the project root). `skip`
 * lists absolute directories not to enter (a cache directory configured
 * inside the project). Symbolic links to directories are not followed.
 *
 * Needs read permission for the project.
 *
 * @example
 * ```ts
 * const { lockFiles, trackFiles } = findProjectFiles("/work/project");
 * // lockFiles: ["/work/project/.pivot/stages/train.lock", "/work/project/b/.pivot/stages/make.lock"]
 * // trackFiles: ["/work/project/data/raw.csv.pvt"]
 * ```
 */
export function findProjectFiles(
  root: string,
  skip: readonly string[] = [],
  options: {
    /**
     * List lock files (default true). Without them, `.pivot/` directories
     * are not read: a pipeline of 10,000 stages has 10,000 lock files.
     */
    readonly lockFiles?: boolean;
  } = {},
): ProjectFiles {
  const withLocks = options.lockFiles !== false;
  const lockFiles: string[] = [];
  const trackFiles: string[] = [];
  const skipped = new Set(skip);
  const walk = (dir: string) => {
    const files = new Set<string>();
    const dirs: string[] = [];
    for (const entry of readDir(dir)) {
      if (entry.isFile) files.add(entry.name);
      else if (entry.isDirectory) dirs.push(entry.name);
    }
    for (const name of files) {
      if (isTrackFile(name)) trackFiles.push(join(dir, name));
    }
    for (const name of dirs) {
      const path = join(dir, name);
      if (SKIPPED.has(name) || skipped.has(path) || files.has(name + TRACK_EXTENSION)) continue;
      if (name === PIVOT_DIR) {
        if (!withLocks) continue;
        const stages = join(path, "stages");
        for (const entry of readDir(stages)) {
          if (entry.isFile && entry.name.endsWith(".lock")) {
            lockFiles.push(join(stages, entry.name));
          }
        }
        continue;
      }
      walk(path);
    }
  };
  walk(root);
  return { lockFiles: lockFiles.sort(), trackFiles: trackFiles.sort() };
}

/**
 * The directories a walk of the project at `root` must skip, given its cache
 * directory `cacheDir` (absolute): the cache when it is configured inside the
 * project (a default cache under `.pivot/` is skipped anyway). Pass it as
 * `skip` to {@link findProjectFiles}.
 *
 * @example
 * ```ts
 * walkSkips("/work/project", "/work/project/cache"); // ["/work/project/cache"]
 * walkSkips("/work/project", "/mnt/cache"); // []
 * ```
 */
export function walkSkips(root: string, cacheDir: string): string[] {
  return cacheDir.startsWith(root + "/") ? [cacheDir] : [];
}

/**
 * {@link findProjectFiles} at git revision `rev`: the lock and `.pvt` files
 * committed there (absolute paths, as they would be in a checkout of `rev`).
 * One `git ls-tree`; the workspace is not read.
 *
 * Needs `--allow-run=git`.
 *
 * @throws {PivotError} for an unknown revision or a project outside git.
 *
 * @example
 * ```ts
 * const { lockFiles } = await projectFilesAtRevision("/work/project", "HEAD");
 * ```
 */
export async function projectFilesAtRevision(root: string, rev: string): Promise<ProjectFiles> {
  const lockFiles: string[] = [];
  const trackFiles: string[] = [];
  for (const path of await listTreeAtRevision(root, rev)) {
    if (LOCK_FILE.test(path)) lockFiles.push(join(root, path));
    else if (isTrackFile(path)) trackFiles.push(join(root, path));
  }
  return { lockFiles, trackFiles };
}

const LOCK_FILE = new RegExp(`(^|/)${PIVOT_DIR.replace(".", "\\.")}/stages/[^/]+\\.lock$`);

/** True when `path` names a `.pvt` file (`data.csv.pvt`, not `.pvt`). */
export function isTrackFile(path: string): boolean {
  const name = path.slice(path.lastIndexOf("/") + 1);
  return name.endsWith(TRACK_EXTENSION) && name.length > TRACK_EXTENSION.length;
}

function readDir(dir: string): Deno.DirEntry[] {
  try {
    return [...Deno.readDirSync(dir)];
  } catch (error) {
    // Gone meanwhile, or not ours to read: it holds nothing of Pivot's.
    if (error instanceof Deno.errors.NotFound || error instanceof Deno.errors.PermissionDenied) {
      return [];
    }
    if (error instanceof Error && /not a directory/i.test(error.message)) return [];
    throw error;
  }
}
