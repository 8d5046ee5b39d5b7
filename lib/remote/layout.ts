/**
 * Where things live on a remote, relative to its root (`s3://bucket/prefix/`
 * or a directory):
 *
 * ```
 * files/ab/cdef0123456789   one object per content hash, the same layout as
 *                           the local cache (`.pivot/cache/files/`); directory
 *                           manifests are objects too
 * runs/<stage id>/<input>   run-cache entries: JSON, one per stage run, where
 *                           <stage id> is the xxhash64 of the stage's key and
 *                           <input> the hash of its code, params and deps
 * ```
 *
 * Keys depend on content only, so any number of projects can share a remote.
 * See docs/remotes.md.
 *
 * @module
 */

import type { Hash } from "../storage/hash.ts";

/** The folder of content objects. */
const FILES_DIR = "files/";

/** The folder of run-cache entries. */
const RUNS_DIR = "runs/";

const HASH = /^[0-9a-f]{16}$/;

/** True when `text` is a 16-hex-digit content hash. */
export function isHash(text: string): boolean {
  return HASH.test(text);
}

/**
 * The key of the object holding `hash`.
 *
 * @example
 * ```ts
 * import { objectKey } from "./layout.ts";
 * objectKey("0123456789abcdef"); // "files/01/23456789abcdef"
 * ```
 */
export function objectKey(hash: Hash): string {
  return `${FILES_DIR}${hash.slice(0, 2)}/${hash.slice(2)}`;
}

/** The hash an object key stands for, or undefined for any other key (temp files, strays). */
export function hashOfKey(key: string): Hash | undefined {
  if (!key.startsWith(FILES_DIR) || key.length !== FILES_DIR.length + 17) return undefined;
  if (key[FILES_DIR.length + 2] !== "/") return undefined;
  const hash = key.slice(FILES_DIR.length, FILES_DIR.length + 2) + key.slice(FILES_DIR.length + 3);
  return isHash(hash) ? hash : undefined;
}

/**
 * The listing prefix covering every hash that starts with `hashPrefix`
 * (0 to 16 hex digits): `""` → `files/`, `"a"` → `files/a`, `"ab"` →
 * `files/ab/`, `"abc"` → `files/ab/c`.
 */
export function objectPrefix(hashPrefix: string): string {
  if (hashPrefix.length < 2) return FILES_DIR + hashPrefix;
  return `${FILES_DIR}${hashPrefix.slice(0, 2)}/${hashPrefix.slice(2)}`;
}

/** The folder of one stage's run-cache entries (`stageId` from {@link stageId}). */
export function runsPrefix(stageId: string): string {
  return `${RUNS_DIR}${stageId}/`;
}

/** The key of one run-cache entry. */
export function runEntryKey(stageId: string, inputHash: Hash): string {
  return `${runsPrefix(stageId)}${inputHash}`;
}
