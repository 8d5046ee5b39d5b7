/**
 * `.pvt` files: what `pivot track PATH` records beside data no stage
 * produces (SPEC §9). `PATH.pvt` is YAML, tracked in git:
 *
 * ```yaml
 * path: images      # the data, relative to the .pvt file's directory
 * hash: 0123456789abcdef   # a file's xxhash64, or a directory's manifest hash
 * size: 52428800    # bytes (for a directory, of all its files)
 * files: 1200       # a directory only: how many files it holds
 * ```
 *
 * A directory's hash is its manifest's, and the manifest is a cache object,
 * as for directories in lock files. The JSON Schema of this format is
 * `lib/schemas/pvt.schema.json`; {@link parseTrackFile} checks the same
 * rules, so a hand-edited or truncated `.pvt` file is one line naming the
 * file, the key and what is expected, never an internal error.
 *
 * @module
 */

import { dirname, join, posix, relative } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import { parseYamlText } from "../yaml_text.ts";
import type { Hash } from "./hash.ts";
import { TRACK_EXTENSION } from "./project_files.ts";

/** Tracked data, as its `.pvt` file records it. */
export interface TrackedData {
  /** Absolute path of the `.pvt` file. */
  readonly trackFile: string;
  /** Project-relative POSIX path of the data. */
  readonly path: string;
  /** Absolute path of the data. */
  readonly abs: string;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /** Bytes (for a directory, of all its files). */
  readonly size: number;
  /** For a directory: how many files it holds; undefined for a file. */
  readonly files: number | undefined;
}

/** What a `.pvt` file holds, as written. */
export interface TrackRecord {
  /** The data, relative to the `.pvt` file's directory. */
  readonly path: string;
  /** A file's hash, or a directory's manifest hash. */
  readonly hash: Hash;
  /** Bytes. */
  readonly size: number;
  /** A directory's file count. */
  readonly files?: number;
}

const HASH = /^[0-9a-f]{16}$/;
const KEYS = ["path", "hash", "size", "files"];

/**
 * The `.pvt` file of the data at `abs`: `abs` + `.pvt`.
 *
 * @example
 * ```ts
 * trackFileOf("/p/data/raw.csv"); // "/p/data/raw.csv.pvt"
 * ```
 */
export function trackFileOf(abs: string): string {
  return abs + TRACK_EXTENSION;
}

/**
 * Parse and validate the text of a `.pvt` file. `trackFile` is its absolute
 * path (its `path` is relative to its directory), `root` the project root,
 * `label` how it is named in errors (`data.csv.pvt`, `data.csv.pvt at v1`).
 *
 * @throws {PivotError} for text that is not YAML, or not a `.pvt` record: a
 * missing or unknown key, a value of the wrong type, a hash that is not 16
 * hex digits, or a path outside the project.
 *
 * @example
 * ```ts
 * await parseTrackFile("path: raw.csv\nhash: 0123456789abcdef\nsize: 10\n", "/p/raw.csv.pvt", "/p", "raw.csv.pvt");
 * // { trackFile: "/p/raw.csv.pvt", path: "raw.csv", abs: "/p/raw.csv", hash: "0123456789abcdef", size: 10, files: undefined }
 * ```
 */
export async function parseTrackFile(
  text: string,
  trackFile: string,
  root: string,
  label: string,
): Promise<TrackedData> {
  const fix = `restore it from git, or run 'pivot track' on the data again`;
  const raw = await parseYamlText(text, label, fix);
  const fail = (what: string): never => {
    throw new PivotError(`${label}: ${what}: ${fix}`);
  };
  if (raw === null || typeof raw !== "object" || Array.isArray(raw)) {
    return fail(`expected a mapping with path, hash and size, got ${describe(raw)}`);
  }
  const record = raw as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!KEYS.includes(key)) fail(`unknown key '${key}' (a .pvt file holds ${KEYS.join(", ")})`);
  }
  for (const key of ["path", "hash", "size"]) {
    if (!Object.hasOwn(record, key)) fail(`'${key}' is missing`);
  }
  const { path, hash, size, files } = record;
  if (typeof path !== "string" || path === "") {
    fail(`'path' must be a non-empty string, got ${describe(path)}`);
  }
  if (typeof hash !== "string" || !HASH.test(hash)) {
    fail(`'hash' must be 16 lowercase hex digits (in quotes if all digits), got ${describe(hash)}`);
  }
  if (!isCount(size)) fail(`'size' must be a whole number of bytes, got ${describe(size)}`);
  if (files !== undefined && !isCount(files)) {
    fail(`'files' must be a whole number, got ${describe(files)}`);
  }
  const abs = join(dirname(trackFile), path as string);
  const rel = relative(root, abs).split("\\").join("/");
  if (posix.isAbsolute(path as string) || rel === "" || rel === ".." || rel.startsWith("../")) {
    fail(`'path' must name data inside the project, beside the .pvt file, got ${describe(path)}`);
  }
  return {
    trackFile,
    path: rel,
    abs,
    hash: hash as Hash,
    size: size as number,
    files: files as number | undefined,
  };
}

/**
 * Read and validate the `.pvt` file at `trackFile` (see {@link parseTrackFile});
 * undefined when it does not exist.
 *
 * @throws {PivotError} as {@link parseTrackFile} does.
 *
 * @example
 * ```ts
 * const tracked = await readTrackFile("/p/data.csv.pvt", "/p");
 * ```
 */
export async function readTrackFile(
  trackFile: string,
  root: string,
): Promise<TrackedData | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(trackFile);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  return await parseTrackFile(text, trackFile, root, relative(root, trackFile));
}

/**
 * The text of a `.pvt` file for `record`: keys in a fixed order (path,
 * hash, size, files), so it diffs well in git, after a comment naming the
 * JSON Schema (editors with a YAML language server then check it).
 *
 * @example
 * ```ts
 * trackFileText({ path: "raw.csv", hash: "0123456789abcdef", size: 10 });
 * // "# yaml-language-server: $schema=…/pvt.schema.json\npath: raw.csv\nhash: 0123456789abcdef\nsize: 10\n"
 * ```
 */
export async function trackFileText(record: TrackRecord): Promise<string> {
  const { stringify } = await import("yaml");
  const ordered: Record<string, unknown> = {
    path: record.path,
    hash: record.hash,
    size: record.size,
  };
  if (record.files !== undefined) ordered.files = record.files;
  // Imported here: the schemas (JSON modules) stay off the start-up path of other commands.
  const { findSchema, schemaComment } = await import("../schemas/mod.ts");
  return `${schemaComment(findSchema("pvt")!)}\n${stringify(ordered, { lineWidth: 0 })}`;
}

function isCount(value: unknown): boolean {
  return typeof value === "number" && Number.isSafeInteger(value) && value >= 0;
}

function describe(value: unknown): string {
  if (value === undefined) return "nothing";
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  if (typeof value === "object") return "a mapping";
  const text = JSON.stringify(value) ?? String(value);
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}

/**
 * True when `abs` is tracked data or inside a tracked directory: `abs.pvt`,
 * or the `.pvt` of a directory above it (up to `root`), exists. For a dep
 * that is missing from the workspace: it is not an error, `pivot checkout`
 * restores it.
 *
 * @example
 * ```ts
 * isTracked("/p/data/images/a.png", "/p"); // true when /p/data/images.pvt exists
 * ```
 */
export function isTracked(abs: string, root: string): boolean {
  for (let path = abs; path.startsWith(root + "/"); path = dirname(path)) {
    try {
      Deno.statSync(trackFileOf(path));
      return true;
    } catch {
      // not tracked at this level
    }
  }
  return false;
}
