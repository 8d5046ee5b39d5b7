/**
 * A directory out whose files the stage returns (`loaders.files()`): the
 * object of relative path → content it returns, checked and put in the form
 * the stage's worker posts and the engine writes.
 *
 * Shared by the loader (its `save`, for a stage function run without
 * Pivot), the stage worker (which checks and encodes the value before
 * posting it, so a mistake fails the stage where it was made) and the
 * engine, which checks the paths again: it writes them outside the worker's
 * sandbox, so it trusts nothing the worker did (docs/returned_files.md).
 *
 * @module
 */

import type { LoaderSpec } from "./loader_spec.ts";

/** The kind of the built-in loader `loaders.files()`. */
export const FILES_KIND = "files";

/** True when `spec` is that of `loaders.files()`: the stage returns the directory's files. */
export function isFilesSpec(spec: LoaderSpec | undefined): boolean {
  return spec?.kind === FILES_KIND;
}

/**
 * The files of a directory out as the worker posts them: their paths, and
 * every content one after another in one buffer, shared where the runtime
 * allows (a `SharedArrayBuffer`): posting it to the engine, and the engine
 * handing it to its helper thread, copies nothing (one object, not 100,000,
 * for the structured clone and the heaps).
 */
export interface ReturnedFiles {
  /**
   * Relative paths (`/`-separated), each once, sorted by UTF-16 code units:
   * the order of a directory's manifest.
   */
  readonly paths: readonly string[];
  /** Every file's content, in the order of {@link ReturnedFiles.paths}. */
  readonly data: Uint8Array;
  /** Where each file's content ends in {@link ReturnedFiles.data} (it starts where the one before ends). */
  readonly ends: Float64Array;
}

/** The content of file `i` of `files` (a view into its data, not a copy). */
export function contentOf(files: ReturnedFiles, i: number): Uint8Array {
  return files.data.subarray(i === 0 ? 0 : files.ends[i - 1], files.ends[i]);
}

/**
 * The object a stage receives for a `loaders.files()` dep that Pivot read
 * (lib/storage/read_files.ts): each path's content, as bytes of its own
 * (not views of the shared buffer) or, with `text`, as UTF-8 text.
 */
export function filesRecord(
  files: ReturnedFiles,
  text: boolean,
): Record<string, string> | Record<string, Uint8Array> {
  const decoder = new TextDecoder();
  const record: Record<string, string | Uint8Array> = {};
  for (const [i, path] of files.paths.entries()) {
    // A copy either way: a view of shared memory is not a plain Uint8Array
    // (TextDecoder refuses one).
    const bytes = contentOf(files, i).slice();
    record[path] = text ? decoder.decode(bytes) : bytes;
  }
  return record as Record<string, string> | Record<string, Uint8Array>;
}

const utf8 = new TextEncoder();

/**
 * The value a stage returned for a `loaders.files()` out, checked
 * ({@link checkFilePaths}) and packed ({@link ReturnedFiles}): strings
 * encoded as UTF-8.
 *
 * @throws {Error} naming the first file that is wrong and how to fix it.
 */
export function returnedFiles(value: unknown): ReturnedFiles {
  if (
    typeof value !== "object" || value === null || Array.isArray(value) ||
    ArrayBuffer.isView(value) || value instanceof Map
  ) {
    throw new Error(
      `expected an object of relative path → content (a string or a Uint8Array), got ${
        describe(value)
      }: return { "a.txt": "…", "sub/b.bin": bytes }`,
    );
  }
  const record = value as Record<string, unknown>;
  const paths = Object.keys(record).sort();
  checkFilePaths(paths);
  const packer = new FilesPacker(paths.length);
  for (const path of paths) {
    const content = record[path];
    if (typeof content === "string") packer.text(content);
    else if (content instanceof Uint8Array) packer.bytes(content);
    else {
      throw new Error(
        `file '${path}': content is ${
          describe(content)
        }: give a string (written as UTF-8) or a Uint8Array`,
      );
    }
  }
  return packer.finish(paths);
}

/**
 * Packs the contents of files into one {@link ReturnedFiles}: each file's
 * content appended in the order of its paths, then the whole copied into one
 * `SharedArrayBuffer` by {@link FilesPacker.finish}. Used for the files a
 * stage returns and for those Pivot reads for a stage (lib/storage/read_files.ts).
 */
export class FilesPacker {
  #buffer = new Uint8Array(64 * 1024);
  #end = 0;
  #files = 0;
  readonly #ends: Float64Array;

  /** A packer for `files` files. */
  constructor(files: number) {
    this.#ends = new Float64Array(new SharedArrayBuffer(8 * files));
  }

  /** Append the next file's content. */
  bytes(content: Uint8Array): void {
    this.#room(content.length);
    this.#buffer.set(content, this.#end);
    this.#ended(this.#end + content.length);
  }

  /** Append the next file's content, a string written as UTF-8. */
  text(content: string): void {
    // At most 3 bytes per UTF-16 unit.
    this.#room(3 * content.length);
    this.#ended(this.#end + utf8.encodeInto(content, this.#buffer.subarray(this.#end)).written);
  }

  /** The files packed, named by `paths` (one per content appended). */
  finish(paths: readonly string[]): ReturnedFiles {
    const data = new Uint8Array(new SharedArrayBuffer(this.#end));
    data.set(this.#buffer.subarray(0, this.#end));
    return { paths, data, ends: this.#ends };
  }

  #ended(end: number): void {
    this.#end = end;
    this.#ends[this.#files++] = end;
  }

  /** Room for `bytes` more bytes after what is packed. */
  #room(bytes: number): void {
    if (this.#buffer.length - this.#end >= bytes) return;
    const larger = new Uint8Array(Math.max(this.#end + bytes, 2 * this.#buffer.length));
    larger.set(this.#buffer.subarray(0, this.#end));
    this.#buffer = larger;
  }
}

/**
 * Check that `paths` can be written inside a directory and nowhere else:
 * each relative, `/`-separated, with no empty, `.` or `..` segment and no
 * NUL; sorted by UTF-16 code units with none twice; and no path is the
 * directory of another (`a` and `a/b`).
 *
 * @throws {Error} naming the first path that is wrong and how to fix it.
 */
export function checkFilePaths(paths: readonly string[]): void {
  let previous: string | undefined;
  for (const path of paths) {
    if (typeof path !== "string") {
      throw new Error(`a file name is ${describe(path)}: name every file by a string`);
    }
    if (path === "") throw new Error(`a file has an empty name: name it by its relative path`);
    if (path.includes("\0")) {
      throw new Error(`file ${JSON.stringify(path)} has a NUL character in its name: remove it`);
    }
    if (path.startsWith("/")) {
      throw new Error(
        `file '${path}' is an absolute path: name it relative to the directory (without the leading '/')`,
      );
    }
    for (const segment of path.split("/")) {
      if (segment === "..") {
        throw new Error(
          `file '${path}' leads out of the directory through '..': name it by a path inside it`,
        );
      }
      if (segment === "" || segment === ".") {
        throw new Error(
          `file '${path}' has an empty or '.' segment: write it as a plain relative path, such as 'sub/a.txt'`,
        );
      }
    }
    if (previous !== undefined && !(previous < path)) {
      throw new Error(
        previous === path
          ? `file '${path}' is given twice: give each file once`
          : `files are not sorted ('${previous}' before '${path}'): sort them by name`,
      );
    }
    previous = path;
  }
  const all = new Set(paths);
  for (const path of paths) {
    for (let slash = path.indexOf("/"); slash !== -1; slash = path.indexOf("/", slash + 1)) {
      const parent = path.slice(0, slash);
      if (all.has(parent)) {
        throw new Error(
          `'${parent}' is given as a file and as the directory of '${path}': a path cannot be both; rename one`,
        );
      }
    }
  }
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "an array";
  if (value instanceof Map) return "a Map (use a plain object, Object.fromEntries(map))";
  if (ArrayBuffer.isView(value)) return `a ${value.constructor.name}`;
  if (typeof value === "object") return `a ${value.constructor?.name ?? "object"}`;
  return value === undefined ? "undefined" : `a ${typeof value}`;
}
