/**
 * What the cache must keep: every object a lock file or a `.pvt` file refers
 * to, in the workspace and, with `allCommits`, in every commit of every
 * branch and tag (`git rev-list --all`). `pivot gc` removes the rest.
 *
 * A lock file refers to the hash of each out and dep (a directory's is its
 * manifest's; the manifest's files are added by {@link expandManifests}),
 * and, through its inputs (code, params, deps), to the run-cache entry its
 * run made: {@link inputHashOf} gives that entry's key.
 *
 * In history, each distinct lock or `.pvt` blob is read once (`git rev-list
 * --objects` lists each object once, `git cat-file --batch` reads them all),
 * however many commits share it.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { Cache } from "./cache.ts";
import { type Hash, hashJson } from "./hash.ts";
import { type LockData, parseLock } from "./lock_file.ts";
import { findProjectFiles, isTrackFile } from "./project_files.ts";
import { blobsInHistory } from "./read_at_revision.ts";
import { parseTrackFile } from "./track_file.ts";

/** What {@link collectReferences} found. */
export interface References {
  /** Hashes referred to (files' and directory manifests'; not yet the manifests' files). */
  readonly objects: Set<Hash>;
  /** Run-cache keys (input hashes) of the runs the lock files record. */
  readonly inputHashes: Set<Hash>;
  /** Lock files read (distinct contents). */
  readonly lockFiles: number;
  /** `.pvt` files read (distinct contents). */
  readonly trackFiles: number;
  /** Commits looked at (0 without `allCommits`). */
  readonly commits: number;
}

/** Options of {@link collectReferences}. */
export interface ReferenceOptions {
  /** Project root. */
  readonly root: string;
  /** Directories the workspace walk skips (a cache inside the project). */
  readonly skip?: readonly string[];
  /** Also every commit of every branch and tag (and every other ref). */
  readonly allCommits: boolean;
  /** Extra lock files to read in the workspace (the loaded stages', if any). */
  readonly lockFiles?: readonly string[];
}

/**
 * The objects and run-cache keys that the workspace's lock and `.pvt` files
 * (and, with `allCommits`, those of every commit) refer to.
 *
 * Needs read access to the project, and `--allow-run=git` with `allCommits`.
 *
 * @throws {PivotError} for a lock or `.pvt` file that does not parse (in the
 * workspace or in a commit): collecting garbage on a partial view could
 * remove what it refers to.
 *
 * @example
 * ```ts
 * const refs = await collectReferences({ root: "/work/project", allCommits: false });
 * refs.objects.has("0123456789abcdef");
 * ```
 */
export async function collectReferences(options: ReferenceOptions): Promise<References> {
  const { root } = options;
  const objects = new Set<Hash>();
  const inputHashes = new Set<Hash>();
  const seen = new Set<string>();
  let lockFiles = 0;
  let trackFiles = 0;
  const addLock = async (text: string, label: string) => {
    if (seen.has(text)) return;
    seen.add(text);
    lockFiles++;
    const lock = await parseLock(text, label);
    addLockObjects(lock, objects);
    inputHashes.add(await inputHashOf(lock));
  };
  const addTrack = async (text: string, file: string, label: string) => {
    if (seen.has(text)) return;
    seen.add(text);
    trackFiles++;
    objects.add((await parseTrackFile(text, file, root, label)).hash);
  };

  const found = findProjectFiles(root, options.skip);
  for (const file of new Set([...(options.lockFiles ?? []), ...found.lockFiles])) {
    const text = await readIfExists(file);
    if (text !== undefined) await addLock(text, file.slice(root.length + 1));
  }
  for (const file of found.trackFiles) {
    const text = await readIfExists(file);
    if (text !== undefined) await addTrack(text, file, file.slice(root.length + 1));
  }
  let commits = 0;
  if (options.allCommits) {
    const history = await blobsInHistory(
      root,
      (path) => /(^|\/)\.pivot\/stages\/[^/]+\.lock$/.test(path) || isTrackFile(path),
    );
    commits = history.commits;
    for (const blob of history.blobs) {
      const label = `${blob.path} (in git history)`;
      if (blob.path.endsWith(".lock")) await addLock(blob.text, label);
      else await addTrack(blob.text, `${root}/${blob.path}`, label);
    }
  }
  return { objects, inputHashes, lockFiles, trackFiles, commits };
}

async function readIfExists(file: string): Promise<string | undefined> {
  try {
    return await Deno.readTextFile(file);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return undefined;
    throw error;
  }
}

/** Add every hash a lock file records: outs, deps, and files of legacy directory listings. */
function addLockObjects(lock: LockData, objects: Set<Hash>): void {
  for (const entry of [...lock.outs, ...lock.deps]) {
    if (typeof entry?.hash === "string") objects.add(entry.hash);
    // Lock files written before directories were recorded by their manifest list the files.
    const files = (entry as { files?: unknown }).files;
    if (Array.isArray(files)) {
      for (const file of files) {
        if (typeof file?.hash === "string") objects.add(file.hash);
      }
    }
  }
}

/**
 * The run-cache key of the run a lock file records: the hash of its inputs
 * (code manifest, params, and each dep's path and hash), computed as the
 * engine computes it when it decides (`lib/engine/decide.ts`).
 *
 * @example
 * ```ts
 * const key = await inputHashOf(await parseLock(text, "train.lock"));
 * ```
 */
function inputHashOf(lock: LockData): Promise<Hash> {
  return hashJson({
    code_manifest: lock.code_manifest,
    params: lock.params,
    deps: lock.deps.map(({ path, hash }) => ({ path, hash }))
      .sort((a, b) => a.path < b.path ? -1 : 1),
  });
}

const MANIFEST_START = new TextEncoder().encode('{"files":[');

/**
 * Add to `objects` every file of each directory manifest among them (the
 * manifests stay too). An object is a manifest when the cache holds it and
 * it reads as one (lock files written before directories carried their file
 * count do not say which objects are directories).
 *
 * @throws {PivotError} when a manifest object is corrupt: its files could
 * not be kept.
 *
 * @example
 * ```ts
 * await expandManifests(cache, refs.objects);
 * ```
 */
export async function expandManifests(cache: Cache, objects: Set<Hash>): Promise<void> {
  const head = new Uint8Array(MANIFEST_START.length);
  for (const hash of [...objects]) {
    let file: Deno.FsFile;
    try {
      file = await Deno.open(cache.objectPath(hash));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) continue;
      throw error;
    }
    let filled = 0;
    try {
      while (filled < head.length) {
        const n = await file.read(head.subarray(filled));
        if (n === null) break;
        filled += n;
      }
    } finally {
      file.close();
    }
    if (filled < head.length || head.some((byte, i) => byte !== MANIFEST_START[i])) continue;
    let manifest;
    try {
      manifest = await cache.readManifest(hash);
    } catch {
      continue; // not JSON: a data file that happens to start like a manifest
    }
    if (manifest === undefined) {
      throw new PivotError(
        `cache object ${hash} looks like a directory manifest but is corrupt: remove it (${
          cache.objectPath(hash)
        }) and run 'pivot checkout' or 'pivot repro' to restore it, then gc again`,
      );
    }
    for (const entry of Array.isArray(manifest.files) ? manifest.files : []) {
      if (typeof entry?.hash === "string") objects.add(entry.hash);
    }
  }
}
