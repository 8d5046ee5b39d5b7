/**
 * A worker's staging area: the only place a stage worker may read (its deps,
 * linked in) and write (its outs and scratch files). Each warm worker owns
 * two folders side by side in `.pivot/tmp/`, named after its pool's
 * `run-<token>.<n>` ({@link workerFolders}):
 *
 * - `run-<token>.<n>.d<k>/` a hard link (a symlink for directories, or
 *   across filesystems) to each dep, at its project-relative path. Deno
 *   checks the path it is given, then follows the link, so the stage reads
 *   exactly its deps. The links live outside the writable folder: a
 *   writable link would let the stage write through it.
 * - `run-<token>.<n>.w<k>/` the only writable folder, holding the n-th
 *   run's own entries ({@link stagedOutPath}):
 *   - `o<n>~<out path>`  each out that is a directory or lies in one, its
 *     run's name glued to its first component (`o3~gen/`, `o3~data/x.csv`):
 *     the outs' project-relative paths, one component shallower than in a
 *     folder of the run's own;
 *   - `o<n>/<name>`  each out that is a file at the project's top level, so
 *     that the folder its path names (a stage writing a file beside its
 *     out, say) is the run's own too;
 *   - `t<n>/`  the stage's `ctx.tmpDir`.
 *   The engine moves the outs into the workspace only after
 *   {@link checkStagedOuts} passes.
 *
 * The paths are as shallow as that allows (three components below the
 * project root before the out's own path) because a sandboxed worker pays
 * for depth on every file it opens: unless a worker has every permission,
 * Deno resolves the path of each file it opens (`realpath`, a `readlink` of
 * each prefix, itself a walk from `/`) to keep it off devices, so the cost
 * of a file grows with the square of its depth (docs/performance.md,
 * "Shallower staging paths" and "Staging one level shallower").
 *
 * Deno lets no sandboxed worker open a file whose real path lies under
 * `/dev`, `/proc` or `/sys` (Linux; `/dev` on other Unixes), whatever its
 * read and write grants: only `--allow-all` does. A project there (tmpfs at
 * `/dev/shm`, or a path through a symlink to it) gets its staging areas in
 * the system's temporary directory instead ({@link stagingParent}), and its
 * deps copied in, since a hard link cannot cross filesystems and a symlink
 * resolves back under `/dev`.
 *
 * Each run gets new paths: something a stage left running (a timer, an
 * unawaited write) writes to the paths that stage was given, which no later
 * run uses and nothing reads; every path an out of the n-th run is given
 * starts `o<n>/` or `o<n>~`, never a folder another run's outs share (at
 * their plain paths in the writable folder, as deep as these, the outs
 * `data/a.csv` and `data/b.csv` of two stages would share `data/`, and a
 * write the first left running would land among the second's outs). The
 * directories themselves are reused (a rename to the next run's name)
 * because creating them is what costs.
 *
 * @module
 */

import { basename, dirname, join } from "../posix_path.ts";
import { OutputError } from "../errors.ts";
import { checkFilePaths, isFilesSpec, type ReturnedFiles } from "../model/returned_files.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { listFiles } from "../storage/artifact_hash.ts";
import { copyTree, copyTreeSync, copyWritable, tryHardLink } from "../storage/copy.ts";
import {
  ensureDir,
  forgetDir,
  forgetDirsFrom,
  movedDir,
  removePath,
} from "../storage/ensure_dir.ts";
import type { StagedArtifact } from "./protocol.ts";

/**
 * Whether Deno refuses a sandboxed worker any file at the real path `path`
 * (see the module's notes): devices, `/proc`, `/sys`, and so tmpfs mounted
 * at `/dev/shm`.
 */
export function deviceRestricted(path: string): boolean {
  if (Deno.build.os === "windows") return false;
  const prefixes = Deno.build.os === "linux" ? ["/dev", "/proc", "/sys"] : ["/dev"];
  return prefixes.some((prefix) => path === prefix || path.startsWith(prefix + "/"));
}

/** The real path of `path`, or `path` itself when it does not exist. */
function realPath(path: string): string {
  try {
    return Deno.realPathSync(path);
  } catch {
    return path;
  }
}

/** Whether `path` exists and a worker could open it through no symlink. */
function unreachable(path: string): boolean {
  try {
    return deviceRestricted(Deno.realPathSync(path));
  } catch {
    return false;
  }
}

/**
 * Where the staging folder `staging` (one of `root`'s, as
 * `.pivot/tmp/run-…`) goes: there, unless the project's real path is one a
 * worker may not open files under; then in the system's temporary directory
 * under the same name.
 */
export function stagingParent(root: string, staging: string): string {
  if (!deviceRestricted(realPath(root))) return staging;
  const system = realPath(systemTempDir());
  return join(deviceRestricted(system) ? "/tmp" : system, `pivot-${basename(staging)}`);
}

/**
 * The system's temporary directory, as `node:os`'s `tmpdir()` says on
 * Linux and macOS (`TMPDIR`, `TMP`, `TEMP`, else `/tmp`; no trailing `/`),
 * without importing `node:os`: the first `node:` import of a process costs
 * every command the Node compatibility layer (lib/posix_path.ts).
 */
export function systemTempDir(): string {
  const dir = Deno.env.get("TMPDIR") || Deno.env.get("TMP") || Deno.env.get("TEMP") || "/tmp";
  return dir.length > 1 && dir.endsWith("/") ? dir.slice(0, -1) : dir;
}

/** The staging directories of one run. */
export interface RunDirs {
  /** Where deps are linked (the same for every run of a worker). */
  readonly deps: string;
  /**
   * The run's name for its outs, `<writable folder>/o<n>`: where each out
   * is staged is {@link stagedOutPath}.
   */
  readonly outs: string;
  /** `ctx.tmpDir`. */
  readonly tmp: string;
}

/** The two folders of a worker's staging area (see the module's notes). */
export interface WorkerFolders {
  /** Every run's directories: the only folder a worker may write to. */
  readonly root: string;
  /** Where deps are linked: read-only to the worker. */
  readonly deps: string;
}

/**
 * The folders of the `k`-th worker of the pool whose staging folders are
 * named after `base` (`.pivot/tmp/run-<token>.<n>`, or its place in the
 * system's temporary directory: {@link stagingParent}). They sit beside
 * each other rather than under `base`, one path component less for every
 * file a stage writes.
 *
 * @example
 * ```ts
 * workerFolders("/p/.pivot/tmp/run-42-8812.1", 3);
 * // { root: "/p/.pivot/tmp/run-42-8812.1.w3", deps: "/p/.pivot/tmp/run-42-8812.1.d3" }
 * ```
 */
export function workerFolders(base: string, k: number): WorkerFolders {
  return { root: `${base}.w${k}`, deps: `${base}.d${k}` };
}

/**
 * Where an out of the run whose outs are `outs` (`<writable folder>/o<n>`,
 * {@link RunDirs.outs}) is staged: `o<n>~<path>` beside `o<n>` for a
 * directory out and any out below the project's top level, one path
 * component shallower than `o<n>/<path>` for each of its files; a file out
 * at the top level in `o<n>/`.
 *
 * @example
 * ```ts
 * stagedOutPath("/s.w0/o3", { path: "gen", isDir: true }); // "/s.w0/o3~gen"
 * stagedOutPath("/s.w0/o3", { path: "data/x.csv", isDir: false }); // "/s.w0/o3~data/x.csv"
 * stagedOutPath("/s.w0/o3", { path: "count.txt", isDir: false }); // "/s.w0/o3/count.txt"
 * ```
 */
export function stagedOutPath(
  outs: string,
  out: { readonly path: string; readonly isDir: boolean },
): string {
  return out.isDir || out.path.includes("/") ? `${outs}~${out.path}` : `${outs}/${out.path}`;
}

/**
 * The project-relative path a path staged for the run whose outs are `outs`
 * stands for (`<outs>/x` or `<outs>~x`: `x`), or undefined for any other.
 */
export function unstagedOutPath(outs: string, path: string): string | undefined {
  if (!path.startsWith(outs)) return undefined;
  const mark = path[outs.length];
  return mark === "/" || mark === "~" ? path.slice(outs.length + 1) : undefined;
}

/**
 * A worker's staging area in `folders`: the directories of its current run,
 * and the move to the next run's.
 *
 * @example
 * ```ts ignore
 * const staging = new StagingArea({ root: "/s.w0", deps: "/s.d0" });
 * staging.current.outs; // "/s.w0/o1"
 * staging.next([], true);
 * staging.current.outs; // "/s.w0/o2"
 * ```
 */
export class StagingArea {
  /** The only folder a worker may write to: every run's directories. */
  readonly root: string;
  /** Where deps are linked, beside {@link root}. */
  readonly deps: string;
  #run = 1;
  #current: RunDirs;

  /** Create the area's directories (needs write access to their parent). */
  constructor(folders: WorkerFolders) {
    this.root = folders.root;
    this.deps = folders.deps;
    ensureDir(this.deps);
    this.#current = this.#dirs();
    ensureDir(this.#current.tmp);
  }

  /** The current run's directories. */
  get current(): RunDirs {
    return this.#current;
  }

  /** Both folders, to remove when the worker is gone. */
  get folders(): readonly string[] {
    return [this.root, this.deps];
  }

  #dirs(): RunDirs {
    return {
      deps: this.deps,
      outs: join(this.root, `o${this.#run}`),
      tmp: join(this.root, `t${this.#run}`),
    };
  }

  /**
   * Move to the next run's directories. The dep links (`links`) are
   * removed. After a successful run (`clean`) that left `t<n>/` empty, the
   * run's `o<n>/` and `o<n>~…` hold only empty directories (its outs were
   * moved into the workspace): they and `t<n>/` are renamed to the next
   * run's names (`o<n+1>~…`) and serve again. Otherwise they are removed.
   * Anything else in the writable folder (written through `..`, or left by
   * an earlier run after its directories moved on) is removed.
   */
  next(links: readonly string[], clean: boolean): void {
    // A dep copied in (see linkDeps) may be a directory.
    for (const link of links) Deno.removeSync(link, { recursive: true });
    const done = this.#current;
    this.#run++;
    const next = this.#dirs();
    this.#current = next;
    const keep = clean && isEmpty(done.tmp);
    const tmpName = basename(done.tmp);
    const outsName = basename(done.outs);
    const nextOuts = basename(next.outs);
    // Listed first: renaming entries while reading the folder could show
    // a renamed one again.
    for (const entry of [...Deno.readDirSync(this.root)]) {
      const from = join(this.root, entry.name);
      const tag = entry.name[outsName.length];
      const to = entry.name === tmpName
        ? next.tmp
        : entry.name.startsWith(outsName) && (tag === undefined || tag === "~")
        ? join(this.root, nextOuts + entry.name.slice(outsName.length))
        : undefined;
      if (keep && to !== undefined) {
        try {
          Deno.renameSync(from, to);
          movedDir(from, to);
          continue;
        } catch {
          // Something made the next run's directory already: start afresh.
          removePath(to);
        }
      }
      removePath(from);
    }
    // Directory outs moved into the workspace: forget they were made here.
    forgetDir(done.outs);
    forgetDirsFrom(`${done.outs}~`);
    ensureDir(next.tmp);
  }
}

/**
 * Link each of `stage`'s deps into `depsDir`; returns them as the worker sees
 * them. The links' paths are the staged artifacts' `path`s.
 */
export function linkDeps(stage: StageDef, depsDir: string): StagedArtifact[] {
  const staged: StagedArtifact[] = [];
  for (const dep of stage.deps) {
    const link = join(depsDir, stagedName(dep.path));
    ensureDir(dirname(link));
    // A hard link is ~30× cheaper than a symlink here; directories, and
    // files on another filesystem, get a symlink (a missing dep too: its
    // loader will say so), unless the worker could not open its target:
    // then a copy.
    if (!dep.isDir && tryHardLink(dep.abs, link)) {
      // linked
    } else if (unreachable(dep.abs)) {
      copyTreeSync(dep.abs, link);
    } else {
      Deno.symlinkSync(dep.abs, link);
    }
    staged.push({ name: dep.name, path: link, loader: dep.loader });
  }
  return staged;
}

/**
 * Make the places of `stage`'s outs for the run whose outs are `outs`
 * ({@link stagedOutPath}); returns them as the worker sees them. An incremental out starts as a writable copy of its last
 * version: the first of `lastVersions(out)` that exists (none: it starts
 * empty).
 */
export async function prepareOuts(
  stage: StageDef,
  outs: string,
  lastVersions: (out: OutDef) => readonly string[],
): Promise<StagedArtifact[]> {
  const staged: StagedArtifact[] = [];
  for (const out of stage.outs) {
    const path = stagedOutPath(outs, out);
    ensureDir(out.isDir ? path : dirname(path));
    if (out.kind === "incremental") await seedIncremental(out, path, lastVersions(out));
    staged.push({ name: out.name, path, loader: out.loader, selfWritten: out.selfWritten });
  }
  return staged;
}

async function seedIncremental(out: OutDef, path: string, sources: readonly string[]) {
  for (const source of sources) {
    try {
      if (out.isDir) {
        removePath(path);
        await copyTree(source, path);
      } else {
        await copyWritable(source, path);
      }
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
  }
}

/**
 * Check that a stage wrote exactly its declared outs for the run whose outs
 * are `outs` ({@link stagedOutPath}: `o<n>/` and `o<n>~…`, a mirror of the
 * project root): every out present and of the right kind, nothing else.
 * What is elsewhere in the writable folder (`ctx.tmpDir`, a path reached
 * through `..`) is not looked at, as nothing of it is committed.
 *
 * @throws {OutputError} naming the first out that is missing or of the wrong
 * kind, or the first file that is not a declared out.
 */
export function checkStagedOuts(stage: StageDef, outs: string): void {
  for (const out of stage.outs) {
    const staged = stagedOutPath(outs, out);
    let info: Deno.FileInfo | undefined;
    try {
      info = Deno.lstatSync(staged);
    } catch {
      info = undefined;
    }
    if (!info) {
      throw new OutputError(
        out.selfWritten
          ? `stage '${stage.name}' did not write out '${out.name}' (${out.path}): write it at ctx.outs.${out.name}`
          : `out '${out.name}' (${out.path}) was not saved`,
      );
    }
    if (out.isDir && !info.isDirectory) {
      throw new OutputError(
        `out '${out.name}' (${out.path}/) is declared as a directory but the stage wrote a file`,
      );
    }
    if (!out.isDir && !info.isFile) {
      throw new OutputError(
        `out '${out.name}' (${out.path}) is declared as a file but the stage wrote ${
          info.isDirectory ? "a directory: declare it with a trailing '/'" : "a symlink"
        }`,
      );
    }
  }
  // Paths relative to the writable folder, where both kinds of place are.
  const folder = dirname(outs);
  const name = basename(outs);
  const rel = (out: OutDef) => stagedOutPath(outs, out).slice(folder.length + 1);
  const declaredFiles = new Set(stage.outs.filter((o) => !o.isDir).map(rel));
  const declaredDirs = stage.outs.filter((o) => o.isDir).map((o) => rel(o) + "/");
  // A declared directory is not entered: its files are the out's, and a
  // 100,000-file out would be walked once more for nothing. Nor is anything
  // not of this run's outs.
  const exact = new Set(stage.outs.filter((o) => o.isDir).map(rel));
  const ours = (path: string) => unstagedOutPath(name, path) !== undefined;
  const skip = (dir: string) => exact.has(dir) || (dir !== name && !ours(dir));
  for (const path of listFiles(folder, skip)) {
    if (!ours(path) || declaredFiles.has(path)) continue;
    if (declaredDirs.some((dir) => path.startsWith(dir))) continue;
    throw new OutputError(
      `stage '${stage.name}' wrote '${
        unstagedOutPath(name, path)
      }', which is not a declared out: declare it in outs, or write scratch files to ctx.tmpDir`,
    );
  }
}

/**
 * Check the files a stage returned for its `loaders.files()` outs, as the
 * engine is about to write them outside the stage's sandbox: every such out
 * has them, their paths stay inside the out ({@link checkFilePaths}), each
 * has its content, and the stage wrote nothing itself at the out's staged
 * place (which could hold a link leading elsewhere).
 *
 * @throws {OutputError} naming the out and the first thing wrong.
 */
export function checkReturnedOuts(
  stage: StageDef,
  outs: string,
  files: Readonly<Record<string, ReturnedFiles>> | undefined,
): void {
  for (const out of stage.outs) {
    if (!isFilesSpec(out.loader)) continue;
    const returned = files?.[out.name];
    const where = `stage '${stage.name}': out '${out.name}' (${out.path}/)`;
    if (returned === undefined) throw new OutputError(`${where} was not saved`);
    try {
      checkFilePaths(returned.paths);
    } catch (error) {
      throw new OutputError(`${where}: ${(error as Error).message}`);
    }
    if (!wellPacked(returned)) {
      throw new OutputError(
        `${where}: the files returned have no content: return { path: content }`,
      );
    }
    if (!isEmpty(stagedOutPath(outs, out))) {
      throw new OutputError(
        `${where}: the stage returns its files (loaders.files()) and also wrote into ctx.outs.${out.name}: return every file, or declare out("${out.path}/") without a loader and write them all`,
      );
    }
  }
}

/** True when every file of `files` has its content in its data (see {@link ReturnedFiles}). */
function wellPacked({ paths, data, ends }: ReturnedFiles): boolean {
  if (!(data instanceof Uint8Array) || !(ends instanceof Float64Array)) return false;
  if (ends.length !== paths.length) return false;
  let previous = 0;
  for (const end of ends) {
    if (!(end >= previous) || !Number.isInteger(end)) return false;
    previous = end;
  }
  return previous <= data.length;
}

function isEmpty(dir: string): boolean {
  for (const _ of Deno.readDirSync(dir)) return false;
  return true;
}

/** Map a project-relative path into the staging tree (paths outside the project too). */
function stagedName(path: string): string {
  return path.split("/").map((part) => part === ".." ? "__up__" : part).join("/");
}
