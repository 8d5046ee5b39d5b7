/**
 * Per-stage lock files (`.pivot/stages/<stage>.lock`): YAML with sorted keys
 * and project-relative paths, so that they diff well in git. A lock file
 * records what the last successful run consumed and produced; it is written
 * only after that run's outputs are in place, atomically.
 *
 * Parsing YAML costs ~0.3 ms a file, which adds up on a no-op `repro` of a
 * large pipeline; parsed locks are therefore cached in the state store by the
 * lock file's stamp, so an unchanged lock is never re-parsed.
 *
 * @module
 */

import { dirname } from "node:path";
import type { OutKind } from "../model/stage_def.ts";
import { PivotError } from "../errors.ts";
import { type ManifestEntry, tempPath } from "./cache.ts";
import type { Hash } from "./hash.ts";
import { type FileStamp, NS, sameStamp, stampOf, type StateStore } from "./state.ts";
import { ensureDir } from "./ensure_dir.ts";

/** A dep as locked. */
export interface LockDep {
  /** Project-relative path. */
  readonly path: string;
  /** Content hash (for a directory, of its manifest). */
  readonly hash: Hash;
  /** For a directory: its files. */
  readonly files?: readonly ManifestEntry[];
}

/** An out as locked. */
export interface LockOut {
  /** Project-relative path. */
  readonly path: string;
  /** Content hash (for a directory, of its manifest). */
  readonly hash: Hash;
  /** Kind of out. */
  readonly kind: OutKind;
}

/** The content of a lock file. */
export interface LockData {
  /** Code manifest key → hash (SPEC §3). */
  readonly code_manifest: Readonly<Record<string, Hash>>;
  /** Param values used. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Deps, sorted by path. */
  readonly deps: readonly LockDep[];
  /** Outs, sorted by path. */
  readonly outs: readonly LockOut[];
}

interface CachedLock extends FileStamp {
  readonly data: LockData;
}

/**
 * Read a lock file, or undefined when there is none. `rel` (its
 * project-relative path) keys the parse cache.
 */
export async function readLock(
  path: string,
  rel: string,
  state: StateStore,
): Promise<LockData | undefined> {
  return (await readLockStamped(path, rel, state))?.data;
}

/** {@link readLock}, with the stamp of the file read (to notice a later rewrite). */
export async function readLockStamped(
  path: string,
  rel: string,
  state: StateStore,
): Promise<{ data: LockData; stamp: FileStamp } | undefined> {
  let info: Deno.FileInfo;
  try {
    info = Deno.statSync(path); // sync: read for every stage on every run
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  const stamp = stampOf(info);
  const cached = await state.get<CachedLock>([NS.lock, rel]);
  if (cached && sameStamp(cached, stamp)) return { data: cached.data, stamp };
  const data = await parseLock(await Deno.readTextFile(path), rel);
  state.defer([NS.lock, rel], { ...stamp, data });
  return { data, stamp };
}

/**
 * Parse the text of a lock file; `rel` (its project-relative path) names it
 * in errors. Also used for lock files read from git at a revision.
 *
 * @throws {PivotError} when the text is not YAML, or not a mapping.
 */
export async function parseLock(text: string, rel: string): Promise<LockData> {
  const { parse } = await import("yaml");
  let raw: unknown;
  try {
    raw = parse(text);
  } catch (error) {
    throw new PivotError(
      `${rel}: not valid YAML (${
        (error as Error).message.split("\n")[0]
      }): restore it from git or delete it to re-run the stage`,
    );
  }
  const doc = (raw ?? {}) as Partial<LockData>;
  if (typeof doc !== "object" || Array.isArray(doc)) {
    throw new PivotError(`${rel}: expected a mapping, got ${typeof raw}: delete it to re-run`);
  }
  return {
    code_manifest: doc.code_manifest ?? {},
    params: doc.params ?? {},
    deps: doc.deps ?? [],
    outs: doc.outs ?? [],
  };
}

/** The lock content in its canonical order: keys sorted, deps and outs by path. */
function canonicalLock(data: LockData): LockData {
  const byPath = <T extends { path: string }>(items: readonly T[]) =>
    [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    code_manifest: sortKeys(data.code_manifest),
    deps: byPath(data.deps).map((dep) =>
      sortKeys(dep.files ? { ...dep, files: byPath(dep.files).map((file) => sortKeys(file)) } : dep)
    ),
    outs: byPath(data.outs).map((out) => sortKeys(out)),
    params: sortKeys(data.params),
  };
}

function sortKeys<T extends object>(value: T): T {
  return sortValue(value) as T;
}

function sortValue(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(sortValue);
  if (value === null || typeof value !== "object") return value;
  const record = value as Record<string, unknown>;
  const result: Record<string, unknown> = {};
  for (const key of Object.keys(record).sort()) result[key] = sortValue(record[key]);
  return result;
}

/**
 * Write a lock file atomically (temp file, then rename) and remember its
 * parse so the next read skips YAML.
 */
export async function writeLock(
  path: string,
  rel: string,
  data: LockData,
  state: StateStore,
): Promise<void> {
  const { stringify } = await import("yaml");
  const canonical = canonicalLock(data);
  // Small file, sync writes: see lib/storage/cache.ts on async op overhead.
  ensureDir(dirname(path));
  const temp = tempPath(path);
  try {
    Deno.writeTextFileSync(temp, stringify(canonical, { lineWidth: 0 }));
    Deno.renameSync(temp, path);
  } catch (error) {
    try {
      Deno.removeSync(temp);
    } catch {
      // never created
    }
    throw error;
  }
  state.defer([NS.lock, rel], { ...stampOf(Deno.statSync(path)), data: canonical });
}
