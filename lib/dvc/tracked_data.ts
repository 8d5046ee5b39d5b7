/**
 * Data DVC tracks with `.dvc` files (`dvc add`), as Pivot tracks it: each
 * out of a `.dvc` file whose workspace content is the one the file records
 * (DVC's md5, a directory's `.dir` md5 over its files) is stored in Pivot's
 * cache and recorded in `PATH.pvt` beside it, as `pivot track PATH` does
 * (SPEC §9; format: `lib/schemas/pvt.schema.json`). Data the workspace
 * lacks is brought back from DVC's local cache first, as `dvc checkout`
 * would. Data that differs from its `.dvc` file (`dvc status` would call it
 * modified) is not tracked: which content is meant is the user's call.
 *
 * @module
 */

import { basename, dirname, join, relative } from "node:path";
import { PivotError } from "../errors.ts";
import { dirManifest, hashArtifact } from "../storage/artifact_hash.ts";
import { ignoreInGit } from "../storage/gitignore.ts";
import { type Cache, tempPath } from "../storage/cache.ts";
import type { StateStore } from "../storage/state.ts";
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
    await trackAsPivotDoes(abs, path, options);
    if (file.source !== undefined) {
      notes.push(
        `${path} came from ${file.source}: tracked as it is; Pivot does not fetch it from there again`,
      );
    }
    tracked.push(path);
  }
  return { tracked, restored, notes };
}

/** Store the data at `abs` in the cache, write `abs.pvt`, and make sure git ignores the data. */
async function trackAsPivotDoes(
  abs: string,
  path: string,
  options: DataImportOptions,
): Promise<void> {
  const { cache, state } = options;
  const isDir = Deno.statSync(abs).isDirectory;
  const hashed = await hashArtifact(abs, path, isDir, state, cache);
  if (hashed === undefined) throw new PivotError(`import-dvc: ${path} vanished while being read`);
  const record: Record<string, unknown> = { path: basename(abs), hash: hashed.hash };
  if (!hashed.isDir) {
    await cache.storeFile(abs, hashed.hash, false);
    record.size = Deno.statSync(abs).size;
  } else {
    const manifest = await dirManifest(hashed, cache);
    if (manifest === undefined) {
      throw new PivotError(`import-dvc: ${path} changed while being read: import again`);
    }
    for (const entry of manifest.files) {
      await cache.storeFile(join(abs, entry.path), entry.hash, false);
    }
    await cache.storeManifest(manifest);
    record.size = hashed.size;
    record.files = hashed.files;
  }
  const { stringify } = await import("yaml");
  const { findSchema, schemaComment } = await import("../schemas/mod.ts");
  const text = `${schemaComment(findSchema("pvt")!)}\n${stringify(record, { lineWidth: 0 })}`;
  await writeAtomically(`${abs}.pvt`, text);
  ignoreInGit(options.root, abs);
}

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

async function writeAtomically(path: string, text: string): Promise<void> {
  const temp = tempPath(path);
  try {
    await Deno.writeTextFile(temp, text);
    await Deno.rename(temp, path);
  } catch (error) {
    await Deno.remove(temp).catch(() => {});
    throw error;
  }
}
