/**
 * Data as it was at a git revision, or as it is in the workspace: the
 * sources of `pivot data get` and `pivot data diff`.
 *
 * At a revision, data is what the lock files (outs of every pipeline) and
 * `.pvt` files (tracked data) committed there record, and its content comes
 * from the cache by the recorded hash, never from git, so reading a
 * revision touches neither the workspace nor the index. A path inside a
 * recorded directory is found through the directory's manifest. A file
 * nothing records is taken from git if it is committed there (small data
 * often is); so is a recorded file the cache lacks, when git holds the very
 * content recorded (its hash is checked).
 *
 * Content the cache lacks is reported with what is missing
 * ({@link MissingObject}), so a caller with a remote can fetch it and ask
 * again (`pivot data get` leaves a hook for that).
 *
 * @module
 */

import { join } from "node:path";
import type { StageDef } from "../model/stage_def.ts";
import { listFiles } from "../storage/artifact_hash.ts";
import type { Cache, ManifestEntry } from "../storage/cache.ts";
import { type Hash, hashBytes } from "../storage/hash.ts";
import { parseLock, readLock } from "../storage/lock_file.ts";
import { findProjectFiles, projectFilesAtRevision } from "../storage/project_files.ts";
import { readBlobsAtRevision, readFilesAtRevision } from "../storage/read_at_revision.ts";
import type { StateStore } from "../storage/state.ts";
import { parseTrackFile, readTrackFile } from "../storage/track_file.ts";
import type { OutsSource } from "./outs_at_revision.ts";

/** Data a lock file or a `.pvt` file records. */
export interface RecordedData {
  /** Project-relative POSIX path. */
  readonly path: string;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /** True or false when the record says (a `.pvt`, a lock file with `files`); undefined when not. */
  readonly isDir: boolean | undefined;
  /** Who records it: `stage 'train'` or `data.csv.pvt`. */
  readonly by: string;
  /** A stage's out (a lock file records it), or tracked data (a `.pvt` file does). */
  readonly kind: "out" | "tracked";
}

/** An object the cache lacks: a file's, or a directory manifest's (then its files too). */
export interface MissingObject {
  /** The object's hash. */
  readonly hash: Hash;
  /** A directory manifest. */
  readonly isDir: boolean;
}

/** One file of some data, and where its content is. */
export interface DataFile {
  /** Path relative to the data (`""` for the data itself when it is a file). */
  readonly path: string;
  /** The content's hash, when known without reading it (recorded, or a manifest entry). */
  readonly hash: Hash | undefined;
  /** Where the content is: a workspace file or a cache object; absent when `bytes` holds it. */
  readonly file?: string;
  /** The content itself, when it came from git. */
  readonly bytes?: Uint8Array;
}

/** Data at a source: a file, a directory of files, or why there is none. */
export type DataVersion =
  | { readonly found: true; readonly isDir: false; readonly file: DataFile }
  | { readonly found: true; readonly isDir: true; readonly files: readonly DataFile[] }
  | {
    readonly found: false;
    readonly reason: string;
    /** Objects whose absence from the cache is the reason. */
    readonly missing: readonly MissingObject[];
  };

/** Options of {@link recordedAt} and {@link dataAt}. */
export interface DataAtOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache. */
  readonly cache: Cache;
  /** The state store (workspace lock files are parsed through its cache). */
  readonly state: StateStore;
  /** The loaded stages: their lock files are read even where no walk finds them. */
  readonly stages: readonly StageDef[];
  /** Directories the workspace walk skips (a cache inside the project). */
  readonly skip?: readonly string[];
  /** Told about corrupt cache objects (which are then treated as missing). */
  readonly warn?: (message: string) => void;
}

/**
 * Everything recorded at `source`, by project-relative path: every out of
 * every lock file and every tracked path of every `.pvt` file.
 *
 * @throws {PivotError} for an unknown revision, or a lock or `.pvt` file
 * that does not parse.
 *
 * @example
 * ```ts
 * const recorded = await recordedAt({ kind: "revision", rev: "v1" }, options);
 * recorded.get("data/raw.csv"); // { path: "data/raw.csv", hash: "…", isDir: false, by: "data/raw.csv.pvt" }
 * ```
 */
export async function recordedAt(
  source: OutsSource,
  options: DataAtOptions,
): Promise<Map<string, RecordedData>> {
  const { root } = options;
  const result = new Map<string, RecordedData>();
  const stageOf = (file: string) => file.slice(file.lastIndexOf("/") + 1).replace(/\.lock$/, "");
  if (source.kind === "workspace") {
    const found = findProjectFiles(root, options.skip);
    const lockFiles = new Set([...options.stages.map((s) => s.lockFile), ...found.lockFiles]);
    for (const file of lockFiles) {
      const lock = await readLock(file, file.slice(root.length + 1), options.state);
      for (const out of lock?.outs ?? []) {
        result.set(out.path, recordOfOut(out, `stage '${stageOf(file)}'`));
      }
    }
    for (const file of found.trackFiles) {
      const tracked = await readTrackFile(file, root);
      if (tracked) result.set(tracked.path, recordOfTracked(tracked, file.slice(root.length + 1)));
    }
    return result;
  }
  const { rev } = source;
  const found = await projectFilesAtRevision(root, rev);
  const lockFiles = [...new Set([...options.stages.map((s) => s.lockFile), ...found.lockFiles])];
  const texts = await readFilesAtRevision(root, [...lockFiles, ...found.trackFiles], rev);
  for (const file of lockFiles) {
    const text = texts.get(file);
    if (text === undefined) continue;
    const rel = file.slice(root.length + 1);
    const lock = await parseLock(text, `${rel} at ${rev}`);
    for (const out of lock.outs) result.set(out.path, recordOfOut(out, `stage '${stageOf(file)}'`));
  }
  for (const file of found.trackFiles) {
    const text = texts.get(file);
    if (text === undefined) continue;
    const rel = file.slice(root.length + 1);
    const tracked = await parseTrackFile(text, file, root, `${rel} at ${rev}`);
    result.set(tracked.path, recordOfTracked(tracked, rel));
  }
  return result;
}

function recordOfOut(
  out: { readonly path: string; readonly hash: Hash; readonly files?: unknown },
  by: string,
): RecordedData {
  // Lock files record a directory's file count; older ones list its files.
  return {
    path: out.path,
    hash: out.hash,
    isDir: out.files === undefined ? undefined : true,
    by,
    kind: "out",
  };
}

function recordOfTracked(
  tracked: { path: string; hash: Hash; files?: number },
  by: string,
): RecordedData {
  return {
    path: tracked.path,
    hash: tracked.hash,
    isDir: tracked.files !== undefined,
    by,
    kind: "tracked",
  };
}

/**
 * The data at `path` (project-relative) at `source`.
 *
 * In the workspace: the file or directory there. At a revision: see the
 * module documentation. `recorded` is {@link recordedAt}'s answer for that
 * revision (computed once for several paths).
 *
 * @throws {PivotError} for an unknown revision.
 *
 * @example
 * ```ts
 * const old = await dataAt({ kind: "revision", rev: "HEAD" }, "data.csv", recorded, options);
 * if (old.found && !old.isDir) console.log(old.file.file); // a cache object
 * ```
 */
export async function dataAt(
  source: OutsSource,
  path: string,
  recorded: ReadonlyMap<string, RecordedData>,
  options: DataAtOptions,
): Promise<DataVersion> {
  if (source.kind === "workspace") return workspaceData(options.root, path);
  const { cache } = options;
  const label = `at ${source.rev}`;
  const exact = recorded.get(path);
  if (exact) {
    const manifest = exact.isDir === false ? undefined : await manifestOf(cache, exact.hash);
    if (manifest === "missing") {
      const inGit = exact.isDir === undefined
        ? await committedWithHash(options.root, path, exact.hash, source.rev)
        : undefined;
      if (inGit) return inGit;
      return missingObjects([{ hash: exact.hash, isDir: exact.isDir ?? false }], exact, label);
    }
    if (manifest === undefined) {
      return await verified(options, [fileAt(cache, "", exact.hash)])
        ? { found: true, isDir: false, file: fileAt(cache, "", exact.hash) }
        : missingObjects([{ hash: exact.hash, isDir: false }], exact, label);
    }
    const absent = await unverified(options, manifest.files);
    if (absent.length > 0) {
      return missingObjects(
        absent.map((file) => ({ hash: file.hash, isDir: false })),
        exact,
        label,
      );
    }
    return {
      found: true,
      isDir: true,
      files: manifest.files.map((entry) => fileAt(cache, entry.path, entry.hash)),
    };
  }
  // Inside a recorded directory?
  for (const [dir, record] of recorded) {
    if (!path.startsWith(`${dir}/`) || record.isDir === false) continue;
    const manifest = await manifestOf(cache, record.hash);
    if (manifest === undefined) continue;
    if (manifest === "missing") {
      return missingObjects([{ hash: record.hash, isDir: true }], record, label);
    }
    const inner = path.slice(dir.length + 1);
    const file = manifest.files.find((entry) => entry.path === inner);
    const below = manifest.files.filter((entry) => entry.path.startsWith(`${inner}/`));
    if (file) {
      return (await unverified(options, [file])).length === 0
        ? { found: true, isDir: false, file: fileAt(cache, "", file.hash) }
        : missingObjects([{ hash: file.hash, isDir: false }], record, label);
    }
    if (below.length > 0) {
      const absent = await unverified(options, below);
      if (absent.length > 0) {
        return missingObjects(absent.map((e) => ({ hash: e.hash, isDir: false })), record, label);
      }
      return {
        found: true,
        isDir: true,
        files: below.map((entry) => fileAt(cache, entry.path.slice(inner.length + 1), entry.hash)),
      };
    }
    return { found: false, reason: `not in ${dir} ${label}`, missing: [] };
  }
  const committed = (await readBlobsAtRevision(options.root, [path], source.rev)).get(path);
  if (committed !== undefined) {
    return { found: true, isDir: false, file: { path: "", hash: undefined, bytes: committed } };
  }
  return {
    found: false,
    reason: `neither an out, tracked data nor a committed file ${label}`,
    missing: [],
  };
}

/**
 * The entries whose cache objects are missing or corrupt (a corrupt object
 * is reported, moved aside and counted as missing; see `Cache.verify`).
 */
async function unverified(
  options: DataAtOptions,
  entries: readonly { readonly hash: Hash }[],
): Promise<{ hash: Hash }[]> {
  const result: { hash: Hash }[] = [];
  for (const entry of entries) {
    if (!(await options.cache.verify(entry.hash, options.state, options.warn))) result.push(entry);
  }
  return result;
}

async function verified(options: DataAtOptions, files: readonly DataFile[]): Promise<boolean> {
  return (await unverified(options, files.map((file) => ({ hash: file.hash! })))).length === 0;
}

function fileAt(cache: Cache, path: string, hash: Hash): DataFile {
  return { path, hash, file: cache.objectPath(hash) };
}

function missingObjects(
  missing: readonly MissingObject[],
  record: RecordedData,
  label: string,
): DataVersion {
  const what = missing.length === 1
    ? `its content (${missing[0].hash})`
    : `${missing.length} of its files`;
  return {
    found: false,
    reason:
      `${what} ${label} (recorded by ${record.by}) is not in the cache: fetch it from a remote, or re-run the stage at that revision`,
    missing,
  };
}

/** A committed file at `rev` whose content hashes to `hash`, or undefined. */
async function committedWithHash(
  root: string,
  path: string,
  hash: Hash,
  rev: string,
): Promise<DataVersion | undefined> {
  const bytes = (await readBlobsAtRevision(root, [path], rev)).get(path);
  if (bytes === undefined || await hashBytes(bytes) !== hash) return undefined;
  return { found: true, isDir: false, file: { path: "", hash, bytes } };
}

const MANIFEST_START = new TextEncoder().encode('{"files":[');

/**
 * The manifest if the object for `hash` is a directory manifest, undefined
 * if it is a file's content, `"missing"` if the cache lacks it. (Lock files
 * written before directories carried their file count do not say which.)
 */
async function manifestOf(
  cache: Cache,
  hash: Hash,
): Promise<{ files: readonly ManifestEntry[] } | undefined | "missing"> {
  if (!cache.has(hash)) return "missing";
  const head = new Uint8Array(MANIFEST_START.length);
  {
    using file = await Deno.open(cache.objectPath(hash));
    let filled = 0;
    while (filled < head.length) {
      const n = await file.read(head.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled < head.length || head.some((byte, i) => byte !== MANIFEST_START[i])) {
      return undefined;
    }
  }
  return await cache.readManifest(hash) ?? "missing";
}

function workspaceData(root: string, path: string): DataVersion {
  const abs = join(root, path);
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(abs);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { found: false, reason: "not in the workspace", missing: [] };
    }
    throw error;
  }
  if (!info.isDirectory) {
    return { found: true, isDir: false, file: { path: "", hash: undefined, file: abs } };
  }
  return {
    found: true,
    isDir: true,
    files: listFiles(abs).map((file) => ({ path: file, hash: undefined, file: join(abs, file) })),
  };
}
