/**
 * DVC's content hashes, to tell whether the workspace still holds what a
 * `dvc.lock` or `.dvc` file recorded (dvc-data's `hashfile/hash.py` and
 * `hashfile/tree.py` are the reference):
 *
 * - a file: the md5 of its bytes (`hash: md5`, DVC 3). Entries written by
 *   DVC 2 (no `hash:` field) used `md5-dos2unix`: in each 1 MiB read that
 *   looks like text (its first 512 bytes have no NUL and at most 30% bytes
 *   outside printable ASCII and `\n\r\t\f\b`), `\r\n` counts as `\n`;
 * - a directory: the md5 of the JSON list of `{"md5", "relpath"}` of its
 *   files sorted by relpath, as Python's `json.dumps(..., sort_keys=True)`
 *   writes it (`, ` and `: ` separators, non-ASCII escaped as `\uXXXX`),
 *   with `.dir` appended. Files the project's `.dvcignore` ignores are left
 *   out, as DVC leaves them out.
 *
 * @module
 */

import { createHash } from "node:crypto";
import { join } from "node:path";
import { listFiles } from "../storage/artifact_hash.ts";

/** A DVC hash of a workspace path, with what DVC records beside it. */
export interface DvcHash {
  /** `md5` (a file) or `md5.dir` (a directory). */
  readonly md5: string;
  /** Total size in bytes. */
  readonly size: number;
  /** For a directory, its file count. */
  readonly nfiles?: number;
}

/** Options of {@link dvcHash}. */
export interface DvcHashOptions {
  /** DVC 2's `md5-dos2unix` for files (an entry without `hash: md5`). */
  readonly legacy?: boolean;
  /** Tells whether a project-relative path is ignored by `.dvcignore` (default: none is). */
  readonly ignored?: (path: string, isDir: boolean) => boolean;
  /** The path's project-relative form, for `ignored` (default: no ignore checks). */
  readonly rel?: string;
}

const CHUNK = 1 << 20;
const TEXT_BLOCK = 512;

/**
 * The DVC hash of the file or directory at `abs`, or undefined when nothing
 * is there.
 *
 * @example
 * ```ts
 * const { md5 } = (await dvcHash("/p/data/raw.csv"))!; // "22a1a2931c8370d3aeedd7183606fd7f"
 * ```
 */
export async function dvcHash(
  abs: string,
  options: DvcHashOptions = {},
): Promise<DvcHash | undefined> {
  let info: Deno.FileInfo;
  try {
    info = await Deno.stat(abs);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
  if (!info.isDirectory) {
    return { md5: await fileMd5(abs, options.legacy === true), size: info.size };
  }
  const entries: { md5: string; relpath: string }[] = [];
  let size = 0;
  for (const relpath of listFiles(abs)) {
    if (options.ignored && options.rel !== undefined && isIgnored(options, relpath)) continue;
    const file = join(abs, relpath);
    entries.push({ md5: await fileMd5(file, options.legacy === true), relpath });
    size += (await Deno.stat(file)).size;
  }
  entries.sort((a, b) => a.relpath < b.relpath ? -1 : a.relpath > b.relpath ? 1 : 0);
  const text = "[" +
    entries.map((e) =>
      `{"md5": ${pythonJsonString(e.md5)}, "relpath": ${pythonJsonString(e.relpath)}}`
    )
      .join(", ") +
    "]";
  const md5 = createHash("md5").update(text).digest("hex");
  return { md5: `${md5}.dir`, size, nfiles: entries.length };
}

function isIgnored(options: DvcHashOptions, relpath: string): boolean {
  const parts = relpath.split("/");
  for (let i = 1; i <= parts.length; i++) {
    const path = `${options.rel}/${parts.slice(0, i).join("/")}`;
    if (options.ignored!(path, i < parts.length)) return true;
  }
  return false;
}

/** The md5 of a file's bytes (or DVC 2's md5-dos2unix). */
export async function fileMd5(abs: string, legacy = false): Promise<string> {
  const hash = createHash("md5");
  using file = await Deno.open(abs, { read: true });
  const buffer = new Uint8Array(CHUNK);
  while (true) {
    // DVC reads 1 MiB at a time and judges each read on its own.
    let filled = 0;
    while (filled < CHUNK) {
      const n = await file.read(buffer.subarray(filled));
      if (n === null) break;
      filled += n;
    }
    if (filled === 0) break;
    const chunk = buffer.subarray(0, filled);
    hash.update(legacy && isTextBlock(chunk.subarray(0, TEXT_BLOCK)) ? dos2unix(chunk) : chunk);
    if (filled < CHUNK) break;
  }
  return hash.digest("hex");
}

const TEXT_BYTES = new Set([
  ...Array.from({ length: 127 - 32 }, (_, i) => i + 32),
  ...[..."\n\r\t\f\b"].map((c) => c.charCodeAt(0)),
]);

/** dvc-data's `istextblock`: no NUL, and at most 30% of bytes outside the text set. */
function isTextBlock(block: Uint8Array): boolean {
  if (block.length === 0) return true;
  let other = 0;
  for (const byte of block) {
    if (byte === 0) return false;
    if (!TEXT_BYTES.has(byte)) other++;
  }
  return other / block.length <= 0.3;
}

function dos2unix(chunk: Uint8Array): Uint8Array {
  const out = new Uint8Array(chunk.length);
  let n = 0;
  for (let i = 0; i < chunk.length; i++) {
    if (chunk[i] === 13 && chunk[i + 1] === 10) continue;
    out[n++] = chunk[i];
  }
  return out.subarray(0, n);
}

/**
 * A string as Python's `json.dumps` writes it by default (`ensure_ascii`):
 * `"`, `\` and control characters escaped, every character beyond ASCII as
 * `\uXXXX` (lower-case hex; UTF-16 surrogate pairs beyond the BMP).
 *
 * @example
 * ```ts
 * pythonJsonString("café/a\"b"); // "\"caf\\u00e9/a\\\"b\""
 * ```
 */
export function pythonJsonString(text: string): string {
  let result = '"';
  for (let i = 0; i < text.length; i++) {
    const code = text.charCodeAt(i);
    const char = text[i];
    if (char === '"') result += '\\"';
    else if (char === "\\") result += "\\\\";
    else if (char === "\n") result += "\\n";
    else if (char === "\r") result += "\\r";
    else if (char === "\t") result += "\\t";
    else if (char === "\b") result += "\\b";
    else if (char === "\f") result += "\\f";
    else if (code < 0x20 || code > 0x7e) result += `\\u${code.toString(16).padStart(4, "0")}`;
    else result += char;
  }
  return result + '"';
}
