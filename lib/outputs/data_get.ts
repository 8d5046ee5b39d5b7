/**
 * `pivot data get`: write an out or tracked file (or directory) as it was
 * at a git revision, from the cache, to a path of the user's choosing. The
 * workspace copy and the git index are never touched (unless `-o` names
 * the workspace path itself, with `--force`).
 *
 * Content the cache lacks can be fetched first through
 * {@link DataGetOptions.fetchMissing}: the hook where remotes plug in
 * (docs/data.md). Without it, missing content is an error naming what is
 * missing.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { PivotError } from "../errors.ts";
import { tempPath } from "../storage/cache.ts";
import { copyWritable } from "../storage/copy.ts";
import {
  dataAt,
  type DataAtOptions,
  type DataFile,
  type DataVersion,
  type MissingObject,
  recordedAt,
  type RecordedData,
} from "./data_at.ts";

/** Fetches objects the cache lacks (from a remote) into the cache. */
export type FetchMissing = (missing: readonly MissingObject[]) => Promise<void>;

/** Options of {@link getData}. */
export interface DataGetOptions extends DataAtOptions {
  /** The git revision. */
  readonly rev: string;
  /** Replace what is at the destination. */
  readonly force: boolean;
  /**
   * Called with what the cache lacks before giving up: a remote's fetch.
   * Undefined: no remote to ask.
   */
  readonly fetchMissing?: FetchMissing;
}

/** What {@link getData} wrote. */
export interface GotData {
  /** Project-relative path of the data. */
  readonly path: string;
  /** Absolute destination. */
  readonly dest: string;
  /** Files written. */
  readonly files: number;
}

/**
 * Write the data at each `targets[i].path` (project-relative) as it was at
 * `options.rev` to `targets[i].dest` (absolute). Every target is resolved
 * (and fetched, if need be) before anything is written.
 *
 * Needs read access to the project and cache, write access to the
 * destinations, and `--allow-run=git`.
 *
 * @throws {PivotError} for an unknown revision, data not recorded or
 * committed there, content missing from the cache, or a destination that
 * exists (without `force`).
 *
 * @example
 * ```ts
 * await getData([{ path: "data/raw.csv", dest: "/tmp/raw_v1.csv" }], { ...options, rev: "v1", force: false });
 * ```
 */
export async function getData(
  targets: readonly { readonly path: string; readonly dest: string }[],
  options: DataGetOptions,
): Promise<GotData[]> {
  const source = { kind: "revision", rev: options.rev } as const;
  let recorded: Map<string, RecordedData> | undefined;
  const versions: DataVersion[] = [];
  for (const target of targets) {
    recorded ??= await recordedAt(source, options);
    let version = await dataAt(source, target.path, recorded, options);
    // A directory recorded without its file count is known as one only once its manifest is
    // here: a second round fetches its files. A third would fetch nothing new.
    for (let round = 0; round < 2 && options.fetchMissing; round++) {
      if (version.found || version.missing.length === 0) break;
      await options.fetchMissing(version.missing);
      version = await dataAt(source, target.path, recorded, options);
    }
    if (!version.found) {
      throw new PivotError(`${target.path} at ${options.rev}: ${version.reason}`);
    }
    versions.push(version);
  }
  for (const target of targets) {
    if (!options.force && exists(target.dest)) {
      throw new PivotError(
        `${target.dest} already exists: choose another place with -o PATH, or replace it with --force`,
      );
    }
  }
  const written: GotData[] = [];
  for (const [i, target] of targets.entries()) {
    const version = versions[i] as Extract<DataVersion, { found: true }>;
    const files = version.isDir ? version.files : [version.file];
    await writeAtomically(target.dest, version.isDir, files);
    written.push({ path: target.path, dest: target.dest, files: files.length });
  }
  return written;
}

function exists(path: string): boolean {
  try {
    Deno.lstatSync(path);
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return false;
    throw error;
  }
}

/**
 * Write a file or a directory of `files` at `dest`: built beside it under
 * a temporary name, then renamed into place, so `dest` is never half
 * written. Copies are writable (never links to cache objects).
 */
async function writeAtomically(
  dest: string,
  isDir: boolean,
  files: readonly DataFile[],
): Promise<void> {
  await Deno.mkdir(dirname(dest), { recursive: true }).catch((error) => {
    throw new PivotError(`cannot create ${dirname(dest)}: ${(error as Error).message}`);
  });
  const temp = tempPath(dest);
  try {
    if (!isDir) await writeFile(files[0], temp);
    else {
      await Deno.mkdir(temp);
      for (const file of files) {
        const to = join(temp, file.path);
        await Deno.mkdir(dirname(to), { recursive: true });
        await writeFile(file, to);
      }
    }
    await Deno.remove(dest, { recursive: true }).catch((error) => {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    });
    await Deno.rename(temp, dest);
  } catch (error) {
    await Deno.remove(temp, { recursive: true }).catch(() => {});
    if (error instanceof Deno.errors.PermissionDenied) {
      throw new PivotError(`cannot write ${dest}: ${error.message}: choose another -o PATH`);
    }
    throw error;
  }
}

async function writeFile(file: DataFile, to: string): Promise<void> {
  if (file.bytes !== undefined) await Deno.writeFile(to, file.bytes, { mode: 0o644 });
  else await copyWritable(file.file!, to);
}
