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

import { dirname } from "../posix_path.ts";
import type { OutKind } from "../model/stage_def.ts";
import { PivotError } from "../errors.ts";
import { parseYamlText } from "../yaml_text.ts";
import type { Cache, DirManifest } from "./cache.ts";
import { writeTextAtomically, writeTextAtomicallyAsync } from "./temp_files.ts";
import type { Hash } from "./hash.ts";
import { type FileStamp, NS, sameStamp, stampOf, type StateStore } from "./state.ts";
import { ensureDir } from "./ensure_dir.ts";
import { lockYaml } from "./lock_yaml.ts";
import { statIfPresent } from "../absent_path.ts";

/** A dep as locked. */
export interface LockDep {
  /** Project-relative path. */
  readonly path: string;
  /** Content hash (for a directory, of its manifest, a cache object). */
  readonly hash: Hash;
  /** For a directory: how many files it holds. */
  readonly files?: number;
  /** For a directory: the total size of its files, in bytes. */
  readonly size?: number;
}

/** An out as locked. */
export interface LockOut {
  /** Project-relative path. */
  readonly path: string;
  /** Content hash (for a directory, of its manifest, a cache object). */
  readonly hash: Hash;
  /** Kind of out. */
  readonly kind: OutKind;
  /** For a directory: how many files it holds. */
  readonly files?: number;
  /** For a directory: the total size of its files, in bytes. */
  readonly size?: number;
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
  cache?: Cache,
): Promise<LockData | undefined> {
  return (await readLockStamped(path, rel, state, cache))?.data;
}

/**
 * {@link readLock}, with the stamp of the file read (to notice a later
 * rewrite). A lock file written before directories were recorded by their
 * manifest's hash lists every file of a directory dep; it is read as if
 * written now, and, given `cache`, those lists are stored as manifest objects
 * so that `status --explain` can still name the files that changed.
 *
 * @throws {PivotError} when the file is not a valid lock file (see
 * {@link parseLock}).
 */
export async function readLockStamped(
  path: string,
  rel: string,
  state: StateStore,
  cache?: Cache,
): Promise<{ data: LockData; stamp: FileStamp } | undefined> {
  // Sync: read for every stage on every run. A stage never run has none,
  // told without a failing stat in a first run (lib/absent_path.ts).
  const info = statIfPresent(path);
  if (info === undefined) return undefined;
  const stamp = stampOf(info);
  const cached = await state.getInRange<CachedLock>([NS.lock], [NS.lock, rel]);
  if (cached && sameStamp(cached, stamp)) return { data: cached.data, stamp };
  const { data, manifests } = await parseLockText(await Deno.readTextFile(path), rel);
  if (cache) { for (const manifest of manifests) await cache.storeManifest(manifest); }
  state.defer([NS.lock, rel], { ...stamp, data });
  return { data, stamp };
}

/**
 * Parse and validate the text of a lock file; `rel` (its project-relative
 * path) names it in errors. Also used for lock files read from git at a
 * revision.
 *
 * @throws {PivotError} when the text is not YAML, or not a lock file: a
 * missing key, a value of the wrong type, a hash that is not 16 hex digits
 * (a hand-edited or truncated file). One line, naming the file, the key and
 * what is expected.
 */
export async function parseLock(text: string, rel: string): Promise<LockData> {
  return (await parseLockText(text, rel)).data;
}

async function parseLockText(
  text: string,
  rel: string,
): Promise<{ data: LockData; manifests: DirManifest[] }> {
  const raw = await parseYamlText(
    text,
    rel,
    "restore it from git or delete it to re-run the stage",
  );
  try {
    return validateLock(raw);
  } catch (error) {
    if (!(error instanceof Invalid)) throw error;
    throw new PivotError(
      `${rel}: ${error.at === "" ? "the file" : error.at} must be ${error.expected}, got ${
        describe(error.got)
      }: restore it from git or delete it to re-run the stage`,
    );
  }
}

// --- Validation: read, don't cast. Each check names where it looked. ---

/** A value at `at` (a dotted key path) is not what a lock file holds there. */
class Invalid extends Error {
  constructor(readonly at: string, readonly expected: string, readonly got: unknown) {
    super(`${at}: expected ${expected}`);
  }
}

const MISSING = Symbol("missing");
const EMPTY = Symbol("empty");

function describe(value: unknown): string {
  if (value === MISSING) return "nothing (the key is missing)";
  if (value === EMPTY) return "an empty file";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

const HASH = /^[0-9a-f]{16}$/;
const KINDS: readonly OutKind[] = ["out", "metric", "plot", "incremental"];

function mapping(value: unknown, at: string): Record<string, unknown> {
  if (value !== null && typeof value === "object" && !Array.isArray(value)) {
    return value as Record<string, unknown>;
  }
  throw new Invalid(at, "a mapping", value);
}

function list(value: unknown, at: string): unknown[] {
  if (Array.isArray(value)) return value;
  throw new Invalid(at, "a list", value);
}

function text(value: unknown, at: string): string {
  if (typeof value === "string" && value !== "") return value;
  throw new Invalid(at, "a non-empty string", value);
}

function hash(value: unknown, at: string): Hash {
  if (typeof value === "string" && HASH.test(value)) return value;
  throw new Invalid(at, "a hash of 16 lowercase hex digits (in quotes if all digits)", value);
}

function count(value: unknown, at: string): number {
  if (typeof value === "number" && Number.isSafeInteger(value) && value >= 0) return value;
  throw new Invalid(at, "a whole number of 0 or more", value);
}

/** The keys of `record`, checked against the `allowed` ones (`required` among them). */
function keys(
  record: Record<string, unknown>,
  at: string,
  required: readonly string[],
  optional: readonly string[] = [],
): void {
  const prefix = at === "" ? "" : `${at}.`;
  for (const key of required) {
    if (!Object.hasOwn(record, key)) throw new Invalid(`${prefix}${key}`, "present", MISSING);
  }
  for (const key of Object.keys(record)) {
    if (!required.includes(key) && !optional.includes(key)) {
      throw new Invalid(
        `${prefix}${key}`,
        `absent (a lock file holds ${[...required, ...optional].join(", ")})`,
        record[key],
      );
    }
  }
}

/** The directory fields of a dep or out: count and size, or a legacy file list. */
function directory(
  entry: Record<string, unknown>,
  at: string,
  manifests: DirManifest[],
): { files?: number; size?: number } {
  const result: { files?: number; size?: number } = {};
  if (Array.isArray(entry.files)) {
    // Written before directories were recorded by their manifest: the list
    // *is* the manifest (same canonical form, so the same hash).
    const files = entry.files.map((item, i) => {
      const file = mapping(item, `${at}.files[${i}]`);
      keys(file, `${at}.files[${i}]`, ["hash", "path"]);
      return {
        path: text(file.path, `${at}.files[${i}].path`),
        hash: hash(file.hash, `${at}.files[${i}].hash`),
      };
    });
    manifests.push({ files });
    result.files = files.length;
  } else if (entry.files !== undefined) result.files = count(entry.files, `${at}.files`);
  if (entry.size !== undefined) result.size = count(entry.size, `${at}.size`);
  return result;
}

function validateLock(raw: unknown): { data: LockData; manifests: DirManifest[] } {
  if (raw === null || raw === undefined) {
    throw new Invalid("", "a lock file (code_manifest, deps, outs, params)", EMPTY);
  }
  const doc = mapping(raw, "");
  keys(doc, "", ["code_manifest", "deps", "outs", "params"]);
  const codeManifest = mapping(doc.code_manifest, "code_manifest");
  for (const [key, value] of Object.entries(codeManifest)) hash(value, `code_manifest.${key}`);
  const params = mapping(doc.params, "params");
  const manifests: DirManifest[] = [];
  const deps = list(doc.deps, "deps").map((item, i): LockDep => {
    const at = `deps[${i}]`;
    const dep = mapping(item, at);
    keys(dep, at, ["hash", "path"], ["files", "size"]);
    return {
      path: text(dep.path, `${at}.path`),
      hash: hash(dep.hash, `${at}.hash`),
      ...directory(dep, at, manifests),
    };
  });
  const outs = list(doc.outs, "outs").map((item, i): LockOut => {
    const at = `outs[${i}]`;
    const out = mapping(item, at);
    keys(out, at, ["hash", "kind", "path"], ["files", "size"]);
    if (!KINDS.includes(out.kind as OutKind)) {
      throw new Invalid(`${at}.kind`, `one of ${KINDS.join(", ")}`, out.kind);
    }
    return {
      path: text(out.path, `${at}.path`),
      hash: hash(out.hash, `${at}.hash`),
      kind: out.kind as OutKind,
      ...directory(out, at, manifests),
    };
  });
  return {
    data: { code_manifest: codeManifest as Record<string, Hash>, params, deps, outs },
    manifests,
  };
}

/** The lock content in its canonical order: keys sorted, deps and outs by path. */
function canonicalLock(data: LockData): LockData {
  const byPath = <T extends { path: string }>(items: readonly T[]) =>
    [...items].sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
  return {
    code_manifest: sortKeys(data.code_manifest),
    deps: byPath(data.deps).map((dep) => sortKeys(dep)),
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
 * parse so the next read skips YAML. `background`: write on Deno's blocking
 * pool, not waiting for the file system on this thread (a lock file recorded
 * while other stages run).
 */
export async function writeLock(
  path: string,
  rel: string,
  data: LockData,
  state: StateStore,
  options: { readonly background?: boolean } = {},
): Promise<void> {
  const canonical = canonicalLock(data);
  ensureDir(dirname(path));
  // The usual shapes without `yaml` (the same text; see lock_yaml.ts).
  const text = lockYaml(canonical) ??
    (await import("yaml")).stringify(canonical, { lineWidth: 0 });
  // Small file, sync writes unless in the background: see lib/storage/cache.ts
  // on async op overhead.
  if (options.background) await writeTextAtomicallyAsync(path, text);
  else writeTextAtomically(path, text);
  state.defer([NS.lock, rel], { ...stampOf(Deno.statSync(path)), data: canonical });
}
