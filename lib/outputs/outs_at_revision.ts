/**
 * Outs as they were at a git revision, or as they are in the workspace: the
 * "old" and "new" sides of `plots diff`, `metrics diff` and `data get`.
 *
 * At a revision, the lock files are read from git (one `git cat-file
 * --batch` for all of them) and the content is taken from the cache by the
 * hash they record, never from git: outs are not in git, and reading a
 * revision never touches the workspace or the index. A directory out is
 * expanded through its manifest. Content that the cache lacks is reported,
 * not guessed.
 *
 * @module
 */

import { join } from "node:path";
import type { OutKind, StageDef } from "../model/stage_def.ts";
import { PivotError } from "../errors.ts";
import { PIVOT_DIR } from "../model/project.ts";
import type { Cache } from "../storage/cache.ts";
import { type Hash, hashBytes } from "../storage/hash.ts";
import { parseLock } from "../storage/lock_file.ts";
import { findProjectFiles, projectFilesAtRevision } from "../storage/project_files.ts";
import { readFilesAtRevision } from "../storage/read_at_revision.ts";
import { NS, type StateStore } from "../storage/state.ts";

/** Where outs are read from: the workspace, or a git revision (through lock files and cache). */
export type OutsSource =
  | { readonly kind: "workspace" }
  | {
    readonly kind: "revision";
    /** The revision as given (`HEAD`, `v1.0`): how it is named in output and messages. */
    readonly rev: string;
    /**
     * The full commit id `rev` names (`resolveCommit`), when known: reads go
     * there without asking git to resolve `rev` again.
     */
    readonly commit?: string;
  };

/** What git is asked to read at for a revision source: its commit when resolved, else its name. */
export function gitRev(source: OutsSource & { readonly kind: "revision" }): string {
  return source.commit ?? source.rev;
}

/** The workspace as a source. */
export const WORKSPACE: OutsSource = { kind: "workspace" };

/** How a source is named in output and messages: `workspace`, or the revision as given. */
export function sourceLabel(source: OutsSource): string {
  return source.kind === "workspace" ? "workspace" : source.rev;
}

/** One file of an out, and where its content is. */
export interface OutFile {
  /** Project-relative POSIX path (for a directory out, of a file inside it). */
  readonly path: string;
  /** Absolute path of the content: the workspace file, or the cache object. */
  readonly file: string;
  /** The content's hash, when it comes from the cache ({@link readOutFile} checks it). */
  readonly hash?: Hash;
}

/** An out wanted from a source. */
export interface WantedOut {
  /** Project-relative POSIX path, without a trailing slash. */
  readonly path: string;
  /** A directory out. */
  readonly isDir: boolean;
}

/** An out's files at a source, or why they cannot be had. */
export type OutVersion =
  | { readonly found: true; readonly files: readonly OutFile[] }
  | { readonly found: false; readonly reason: string };

/** An out as a lock file recorded it. */
export interface LockedOut {
  /** Project-relative path. */
  readonly path: string;
  /** Content hash (for a directory, of its manifest). */
  readonly hash: Hash;
  /** Kind of out. */
  readonly kind: OutKind;
  /** The stage whose lock file it is in. */
  readonly stage: string;
}

/** Options of {@link outsAt}. */
export interface OutsAtOptions {
  /** Project root. */
  readonly root: string;
  /** The project's cache. */
  readonly cache: Cache;
  /**
   * Absolute paths of the lock files that may record the outs (at a
   * revision), such as every current stage's `lockFile`. See also
   * {@link lockFilesFor}.
   */
  readonly lockFiles: readonly string[];
}

/**
 * The files of each of `outs` at `source`, by out path.
 *
 * In the workspace, an out is found when it exists there. At a revision, it
 * is found when one of `options.lockFiles` recorded it there and the cache
 * holds its content (for a directory, its manifest and every file).
 *
 * Needs read access to the project and its cache, and `--allow-run=git` for
 * a revision.
 *
 * @throws {PivotError} for an unknown revision, a project outside git, or a
 * lock file at the revision that does not parse.
 *
 * @example
 * ```ts
 * const old = await outsAt({ kind: "revision", rev: "HEAD" }, [{ path: "roc.csv", isDir: false }], {
 *   root: project.root,
 *   cache,
 *   lockFiles: stages.map((stage) => stage.lockFile),
 * });
 * const version = old.get("roc.csv"); // { found: true, files: [{ path: "roc.csv", file: "/…/.pivot/cache/files/ab/…", hash: "ab…" }] }
 * ```
 */
export async function outsAt(
  source: OutsSource,
  outs: readonly WantedOut[],
  options: OutsAtOptions,
): Promise<Map<string, OutVersion>> {
  const result = new Map<string, OutVersion>();
  if (source.kind === "workspace") {
    for (const out of outs) result.set(out.path, await workspaceFiles(options.root, out));
    return result;
  }
  const locked = await lockedOutsAt(options.root, options.lockFiles, gitRev(source), {
    label: source.rev,
  });
  for (const out of outs) {
    const entry = locked.get(out.path);
    result.set(
      out.path,
      entry === undefined
        ? { found: false, reason: `no lock file at ${source.rev} records it` }
        : await cachedFiles(options.cache, out, entry.hash),
    );
  }
  return result;
}

/**
 * Every out recorded by `lockFiles` (absolute paths) at revision `rev`, by
 * project-relative path. A lock file that did not exist there records
 * nothing.
 *
 * @throws {PivotError} as {@link readFilesAtRevision} does, and for a lock
 * file that does not parse.
 *
 * @example
 * ```ts
 * const outs = await lockedOutsAt("/work/project", ["/work/project/.pivot/stages/train.lock"], "HEAD");
 * outs.get("model.json"); // { path: "model.json", hash: "…", kind: "out", stage: "train" }
 * ```
 */
export async function lockedOutsAt(
  root: string,
  lockFiles: readonly string[],
  rev: string,
  options: LockedOutsOptions = {},
): Promise<Map<string, LockedOut>> {
  const texts = await readFilesAtRevision(root, lockFiles, rev);
  const result = new Map<string, LockedOut>();
  for (const [file, text] of texts) {
    if (text === undefined) continue;
    const name = file.slice(file.lastIndexOf("/") + 1).replace(/\.lock$/, "");
    const label = `${PIVOT_DIR}/stages/${name}.lock at ${options.label ?? rev}`;
    for (const out of await outsOfLockText(text, label, options.state)) {
      result.set(out.path, { ...out, stage: name });
    }
  }
  return result;
}

/** Options of {@link lockedOutsAt}. */
export interface LockedOutsOptions {
  /** How the revision is named in messages (default: `rev` as given). */
  readonly label?: string;
  /**
   * Remembers the outs of each lock file text already parsed, by a hash of
   * the text: the lock files of a revision are mostly the same from one
   * command to the next, and parsing YAML is most of the cost of reading them.
   */
  readonly state?: StateStore;
}

type LockTextOut = Omit<LockedOut, "stage">;

/** The outs a lock file's `text` records, validated (from the state store when seen before). */
async function outsOfLockText(
  text: string,
  label: string,
  state: StateStore | undefined,
): Promise<readonly LockTextOut[]> {
  // Under the lock namespace, which gc prunes of every key that is not a path in the project.
  const key = state && [NS.lock, `@text:${await hashBytes(text)}:${text.length}`];
  if (state && key) {
    const known = await state.get<LockTextOut[]>(key);
    if (Array.isArray(known)) return known;
  }
  const lock = await parseLock(text, label);
  if (!Array.isArray(lock.outs)) {
    throw new PivotError(`${label}: 'outs' is not a list: the lock file is damaged`);
  }
  const outs = lock.outs.map((out) => {
    if (typeof out?.path !== "string" || typeof out.hash !== "string") {
      throw new PivotError(`${label}: an out without path or hash: the lock file is damaged`);
    }
    return { path: out.path, hash: out.hash, kind: out.kind };
  });
  if (state && key) state.defer(key, outs);
  return outs;
}

/**
 * Every lock file that may record outs at any of `sources`: those of
 * `stages`, and those of every pipeline in the project (found by a walk of
 * the workspace that skips `skip`, see `walkSkips`, or listed in git at a
 * revision). With the current stages' own lock files they also find outs of
 * other pipelines, and of stages renamed or removed since.
 *
 * @throws {PivotError} for an unknown revision or a project outside git.
 *
 * @example
 * ```ts
 * const lockFiles = await lockFilesFor(project.root, graph.order, [WORKSPACE], skip);
 * ```
 */
export async function lockFilesFor(
  root: string,
  stages: readonly StageDef[],
  sources: readonly OutsSource[],
  skip: readonly string[] = [],
): Promise<string[]> {
  const lockFiles = new Set(stages.map((stage) => stage.lockFile));
  for (const source of sources) {
    const found = source.kind === "workspace"
      ? findProjectFiles(root, skip)
      : await projectFilesAtRevision(root, gitRev(source));
    for (const file of found.lockFiles) lockFiles.add(file);
  }
  return [...lockFiles];
}

async function workspaceFiles(root: string, out: WantedOut): Promise<OutVersion> {
  const abs = join(root, out.path);
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(abs);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) {
      return { found: false, reason: "not in the workspace" };
    }
    throw error;
  }
  if (!info.isDirectory) return { found: true, files: [{ path: out.path, file: abs }] };
  const files: OutFile[] = [];
  const walk = async (dir: string, rel: string) => {
    const entries = [];
    for await (const entry of Deno.readDir(dir)) entries.push(entry);
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const path = `${rel}/${entry.name}`;
      if (entry.isDirectory) await walk(join(dir, entry.name), path);
      else files.push({ path, file: join(dir, entry.name) });
    }
  };
  await walk(abs, out.path);
  return { found: true, files };
}

async function cachedFiles(cache: Cache, out: WantedOut, hash: Hash): Promise<OutVersion> {
  const missing = (what: string): OutVersion => ({
    found: false,
    reason:
      `${what} is not in the cache: fetch it ('pivot pull') or re-run the stage at that revision`,
  });
  if (!out.isDir) {
    return cache.has(hash)
      ? { found: true, files: [{ path: out.path, file: cache.objectPath(hash), hash }] }
      : missing(`its content (${hash})`);
  }
  const manifest = await cache.readManifest(hash);
  if (manifest === undefined) return missing(`its directory manifest (${hash})`);
  const files: OutFile[] = [];
  for (const entry of manifest.files) {
    if (!cache.has(entry.hash)) return missing(`${out.path}/${entry.path} (${entry.hash})`);
    files.push({
      path: `${out.path}/${entry.path}`,
      file: cache.objectPath(entry.hash),
      hash: entry.hash,
    });
  }
  return { found: true, files };
}

/**
 * The bytes of `file`. Content from the cache is checked against its hash:
 * a corrupt object is never used.
 *
 * @throws {PivotError} when a cache object's content does not match its hash.
 *
 * @example
 * ```ts
 * const bytes = await readOutFile({ path: "roc.csv", file: "/p/.pivot/cache/files/ab/cd…", hash: "abcd…" });
 * ```
 */
export async function readOutFile(file: OutFile): Promise<Uint8Array> {
  const bytes = await Deno.readFile(file.file);
  if (file.hash !== undefined && await hashBytes(bytes) !== file.hash) {
    throw new PivotError(
      `${file.path}: cache object ${file.hash} is corrupt (its content does not match its hash): fetch it again or re-run the stage`,
    );
  }
  return bytes;
}
