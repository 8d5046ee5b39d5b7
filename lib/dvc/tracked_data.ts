/**
 * Data DVC tracks with `.dvc` files (`dvc add`), as Pivot tracks it: each
 * out of a `.dvc` file whose workspace content is the one the file records
 * (DVC's md5, a directory's `.dir` md5 over its files) is stored in Pivot's
 * cache and recorded in `PATH.pvt` beside it, as `pivot track PATH` does
 * (SPEC §9; format: `lib/schemas/pvt.schema.json`). Data the workspace
 * lacks is brought back from DVC's local cache first, as `dvc checkout`
 * would. Data that differs from its `.dvc` file (`dvc status` would call it
 * modified) is not tracked: which content is meant is the user's call. The
 * tracking itself is `pivot track`'s own ({@link trackPath}).
 *
 * @module
 */

import { dirname, join, relative } from "node:path";
import { exists } from "../paths.ts";
import type { Cache } from "../storage/cache.ts";
import type { StateStore } from "../storage/state.ts";
import { trackPath } from "../storage/track.ts";
import { parseDvcFile } from "./dvc_files.ts";
import { restoreFromDvcCache } from "./dvc_cache.ts";
import { dvcHash } from "./md5.ts";

/** Options of {@link importDvcData}. */
export interface DataImportOptions {
  /** Absolute project root (paths are reported relative to it). */
  readonly root: string;
  /** Pivot's cache, where the data is stored. */
  readonly cache: Cache;
  /** The state store (file hashes). */
  readonly state: StateStore;
  /** DVC's local cache directory, if there is one. */
  readonly dvcCacheDir: string | undefined;
  /** `.dvcignore`: whether a project-relative path is ignored (for directory hashes). */
  readonly ignored: (path: string, isDir: boolean) => boolean;
}

/** What {@link importDvcData} did with one `.dvc` file. */
export interface DataImport {
  /** Project-relative paths of the data now tracked (a `.pvt` file beside each). */
  readonly tracked: readonly string[];
  /** Project-relative paths of data written back from DVC's cache first. */
  readonly restored: readonly string[];
  /** What was not converted, and why (one line each, without the file's name). */
  readonly notes: readonly string[];
}

/**
 * Track the data of the `.dvc` file at `dvcFile` in Pivot.
 *
 * @throws {PivotError} for a `.dvc` file that does not parse.
 *
 * @example
 * ```ts
 * const done = await importDvcData("/p/data/raw.csv.dvc", { root: "/p", cache, state, dvcCacheDir, ignored });
 * done.tracked; // ["data/raw.csv"]
 * ```
 */
export async function importDvcData(
  dvcFile: string,
  options: DataImportOptions,
): Promise<DataImport> {
  const { root } = options;
  const rel = (abs: string) => relative(root, abs).split("\\").join("/");
  const file = await parseDvcFile(await Deno.readTextFile(dvcFile), rel(dvcFile));
  const tracked: string[] = [];
  const restored: string[] = [];
  const notes: string[] = [];
  if (file.cmd !== undefined) {
    notes.push(
      "a .dvc file with a command (a DVC 0.x stage) is not converted: move it into dvc.yaml as a stage, then import again",
    );
    return { tracked, restored, notes };
  }
  for (const out of file.outs) {
    const abs = join(dirname(dvcFile), out.path);
    const path = rel(abs);
    if (path === "" || path === ".." || path.startsWith("../")) {
      notes.push(`'${out.path}' is outside the project: not tracked`);
      continue;
    }
    if (!out.cache) {
      notes.push(`${path} has 'cache: false' (DVC does not cache it): left to git, not tracked`);
      continue;
    }
    if (!exists(abs) && out.md5 !== undefined && options.dvcCacheDir !== undefined) {
      if (await restoreFromDvcCache(options.dvcCacheDir, out.md5, abs)) restored.push(path);
    }
    if (!exists(abs)) {
      notes.push(
        `${path} is in neither the workspace nor DVC's cache: not tracked ('dvc pull' it, then import again)`,
      );
      continue;
    }
    if (out.md5 !== undefined) {
      const now = await dvcHash(abs, {
        legacy: !out.plainMd5,
        ignored: options.ignored,
        rel: path,
      });
      if (now?.md5 !== out.md5) {
        notes.push(
          `${path} differs from what its .dvc file records (modified, as 'dvc status' says): not tracked ('pivot track ${path}' tracks it as it is)`,
        );
        continue;
      }
    }
    // As `pivot track PATH` does, storing copies: with DVC's link cache
    // types the data may be a link into DVC's cache, which Pivot must not share.
    try {
      await trackPath(abs, { root, cache: options.cache, state: options.state, link: false });
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      notes.push(`${path} vanished while it was being tracked: not tracked (import again)`);
      continue;
    }
    if (file.source !== undefined) {
      notes.push(
        `${path} came from ${file.source}: tracked as it is; Pivot does not fetch it from there again`,
      );
    }
    tracked.push(path);
  }
  return { tracked, restored, notes };
}
