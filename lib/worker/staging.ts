/**
 * A worker's staging area: the only place a stage worker may read (its deps,
 * linked in) and write (its outs and scratch files). Each warm worker owns one
 * under `.pivot/tmp/run-…/w<k>/`, with three directories reused by every run:
 *
 * - `deps/`  a hard link (a symlink for directories, or across filesystems)
 *   to each dep, at its project-relative path. Deno checks the path it is
 *   given, then follows the link, so the stage reads exactly its deps. The
 *   links live outside the writable part: a writable link would let the
 *   stage write through it.
 * - `outs/`  where the stage writes its outs (`ctx.outs.*`), at their
 *   project-relative paths; the engine moves them into the workspace only
 *   after {@link checkStagedOuts} passes.
 * - `tmp/`   the stage's `ctx.tmpDir`.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { OutputError } from "../errors.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { listFiles } from "../storage/artifact_hash.ts";
import { copyTree, copyWritable, tryHardLink } from "../storage/copy.ts";
import { ensureDir, forgetDir, removePath } from "../storage/ensure_dir.ts";
import type { StagedArtifact } from "./protocol.ts";

/** The staging directories of a worker, the same for every run. */
export interface RunDirs {
  /** Where deps are linked. */
  readonly deps: string;
  /** Where outs are written. */
  readonly outs: string;
  /** `ctx.tmpDir`. */
  readonly tmp: string;
}

/** The staging directories under `root`, created. */
export function createStaging(root: string): RunDirs {
  const dirs = { deps: join(root, "deps"), outs: join(root, "outs"), tmp: join(root, "tmp") };
  for (const dir of Object.values(dirs)) ensureDir(dir);
  return dirs;
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
    // loader will say so).
    if (dep.isDir || !tryHardLink(dep.abs, link)) Deno.symlinkSync(dep.abs, link);
    staged.push({ name: dep.name, path: link, loader: dep.loader });
  }
  return staged;
}

/**
 * Make the places of `stage`'s outs in `outsDir`; returns them as the worker
 * sees them. An incremental out starts as a writable copy of its last
 * version: the first of `lastVersions(out)` that exists (none: it starts
 * empty).
 */
export async function prepareOuts(
  stage: StageDef,
  outsDir: string,
  lastVersions: (out: OutDef) => readonly string[],
): Promise<StagedArtifact[]> {
  const staged: StagedArtifact[] = [];
  for (const out of stage.outs) {
    const path = join(outsDir, out.path);
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
 * Check that a stage wrote exactly its declared outs in `outsDir` (the
 * staging mirror of the project root): every out present and of the right
 * kind, nothing else.
 *
 * @throws {OutputError} naming the first out that is missing or of the wrong
 * kind, or the first file that is not a declared out.
 */
export function checkStagedOuts(stage: StageDef, outsDir: string): void {
  for (const out of stage.outs) {
    const staged = join(outsDir, out.path);
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
  const declaredFiles = new Set(stage.outs.filter((o) => !o.isDir).map((o) => o.path));
  const declaredDirs = stage.outs.filter((o) => o.isDir).map((o) => o.path + "/");
  for (const path of listFiles(outsDir)) {
    if (declaredFiles.has(path) || declaredDirs.some((dir) => path.startsWith(dir))) continue;
    throw new OutputError(
      `stage '${stage.name}' wrote '${path}', which is not a declared out: declare it in outs, or write scratch files to ctx.tmpDir`,
    );
  }
}

/**
 * Make the staging area ready for the next run. After a successful run
 * (`clean`) it holds only the dep links (listed in `links`) and empty
 * directories: the links are removed and the directories kept for the next
 * stage (creating directories is what costs). After a failure everything goes.
 */
export function resetStaging(dirs: RunDirs, links: readonly string[], clean: boolean): void {
  if (clean && isEmpty(dirs.tmp)) {
    for (const link of links) Deno.removeSync(link);
    return;
  }
  for (const dir of Object.values(dirs)) {
    Deno.removeSync(dir, { recursive: true });
    forgetDir(dir);
    ensureDir(dir);
  }
}

function isEmpty(dir: string): boolean {
  for (const _ of Deno.readDirSync(dir)) return false;
  return true;
}

/** Map a project-relative path into the staging tree (paths outside the project too). */
function stagedName(path: string): string {
  return path.split("/").map((part) => part === ".." ? "__up__" : part).join("/");
}
