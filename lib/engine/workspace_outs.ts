/**
 * Outs in the workspace: restoring locked outs from the cache, committing
 * what a stage wrote in its staging area (hash, cache, move into place), and
 * storing the workspace's outs as they are (`pivot commit`). Preparing and
 * checking the staging area itself is the worker's (`lib/worker/staging.ts`).
 *
 * @module
 */

import { dirname, join } from "../posix_path.ts";
import { contentOf, type ReturnedFiles } from "../model/returned_files.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { OutputError } from "../errors.ts";
import {
  dirManifest,
  hashArtifact,
  indexHolds,
  listFiles,
  objectsIntact,
  type PlacedFile,
  type PlacementLease,
  readSmallFile,
  rememberDirectory,
  rememberObjectsIntact,
  SMALL_FILE,
  withSlash,
} from "../storage/artifact_hash.ts";
import { writeNewFileSync } from "../storage/new_file.ts";
import {
  type Cache,
  type CheckoutMode,
  type DirManifest,
  hashManifest,
  type ManifestEntry,
  type ObjectBatch,
  sharesObject,
  tempPath,
} from "../storage/cache.ts";
import { copyTreeSync } from "../storage/copy.ts";
import { type Hash, hashBytes, hashBytesSync, hashFile } from "../storage/hash.ts";
import type { LockOut } from "../storage/lock_file.ts";
import { eachLimited } from "../storage/pool.ts";
import { CHUNKED_FROM, type FileStamp, sameStamp, stampOf } from "../storage/state.ts";
import type { EngineContext } from "./context.ts";
import { lstatOrUndefined } from "../paths.ts";
import { stampsDigest } from "../dir_walk.ts";
import { ignoreInGit, ignoreInGitLater, writeQueuedIgnores } from "../storage/gitignore.ts";
import { refuseEscapingOut } from "./out_paths.ts";
import { stagedOutPath } from "../worker/staging.ts";
import { mark } from "../trace.ts";
import { ensureDir, forgetDir, removePath } from "../storage/ensure_dir.ts";
import {
  coreFree,
  HelperThread,
  linkMany,
  type ManyOptions,
  type ObjectTree,
  PARALLEL_FROM_STARTED,
  type ReadOne,
  statAndCopyTree,
  statAndLinkTree,
  statMany,
  writeReturnedMany,
} from "../storage/stat_many.ts";
import { releaseHeapAndFreed, releaseHeapIfGrown } from "../free_memory.ts";
import { ObjectWriter, WRITER_FROM } from "../storage/object_writer.ts";

/**
 * List a cached out in the `.gitignore` beside it, so `git add -A` never adds
 * data; `cache: false` outs (metrics meant for git) stay visible to git.
 */
function ignoreCachedOut(context: EngineContext, out: OutDef): void {
  if (out.cache) ignoreInGit(context.project.root, out.abs);
}

/** The checkout mode for an out: incremental outs are always copies. */
function modeFor(out: OutDef, mode: CheckoutMode): CheckoutMode {
  return out.kind === "incremental" ? "copy" : mode;
}

/**
 * Restore a locked out from the cache into the workspace, replacing what is
 * there. Returns false (and changes nothing) when an object is missing or
 * corrupt.
 */
export async function restoreOut(
  context: EngineContext,
  out: OutDef,
  locked: LockOut,
  mode: CheckoutMode,
): Promise<boolean> {
  const { cache, state, warn } = context;
  refuseEscapingOut(context.project.root, out);
  if (!out.isDir) {
    if (!(await cache.verify(locked.hash, state, warn))) return false;
    // A file is replaced by one rename; a directory in its place goes first.
    if (lstatOrUndefined(out.abs)?.isDirectory) removePath(out.abs);
    ensureDir(dirname(out.abs));
    await cache.place(locked.hash, out.abs, modeFor(out, mode));
    await rememberPlaced(state, out, { hash: locked.hash, manifest: undefined, files: [] });
    ignoreCachedOut(context, out);
    return true;
  }
  mark("restore: start");
  // A large directory's stats and links are shared with a helper thread,
  // started now (by the count its lock file gives) so that its start
  // overlaps reading the manifest; but only while a core is free for it,
  // else all on this thread, however long the lists.
  const large = (locked.files ?? 0) >= PARALLEL_FROM_STARTED;
  // The manifest is read on Deno's I/O thread meanwhile: `new Worker` holds
  // this thread until the helper's runtime exists (~20-30 ms).
  const reading = cache.readManifestText(locked.hash);
  const shared = large && coreFree();
  using helper = shared ? HelperThread.start() : undefined;
  const many: ManyOptions = large && !shared ? { parallelFrom: Infinity } : { helper };
  if (large) mark(shared ? "restore: helper thread started" : "restore: no core free, one thread");
  const read = await reading;
  if (!read) return false;
  const { manifest } = read;
  mark("restore: manifest read");
  const placeMode = modeFor(out, mode);
  // Hard links, or copies, in one pass (each object checked after);
  // whatever that cannot vouch for is placed the careful way, each object
  // checked first. (Copies offered by a download are taken one by one
  // there.)
  const onePass = placeMode === "hardlink"
    ? await linkTree(context, out, locked.hash, manifest.files, read.text, many)
    : placeMode === "copy" && !cache.copiesOffered
    ? await copyTree(context, out, locked.hash, manifest.files, read.text, many)
    : undefined;
  const files = onePass?.files ??
    await placeTree(context, out, locked.hash, manifest.files, placeMode, many);
  if (files === undefined) return false;
  await rememberDirectory(out.abs, out.path, files, locked.hash, state, onePass?.digest);
  mark("restore: remembered");
  ignoreCachedOut(context, out);
  return true;
}

/**
 * Build the directory `out` beside its place, then swap it in (see
 * {@link swapIn}): its objects checked first ({@link verifiedObjects}),
 * then each file placed by `mode`. Returns its files, or undefined (nothing
 * changed) when an object is missing or corrupt.
 */
async function placeTree(
  context: EngineContext,
  out: OutDef,
  hash: Hash,
  entries: readonly ManifestEntry[],
  mode: CheckoutMode,
  many: ManyOptions = {},
): Promise<PlacedFile[] | undefined> {
  const objects = await verifiedObjects(context, out.path, hash, entries, many);
  if (objects === undefined) return undefined;
  mark("restore: objects verified");
  return await swapIn(out, entries, async (temp) => {
    mark("restore: parents made");
    const files = await placeFiles(context.cache, temp, entries, objects, mode, many);
    mark("restore: files placed");
    return files;
  });
}

/**
 * A `hardlink` checkout of the directory `out` (its manifest's files
 * `entries`, parsed from `text`) in one pass over its objects: each one
 * stat-ed and linked at its place in the folder built beside the directory
 * ({@link statAndLinkTree}, on two threads for a large one), and only then
 * are the stamps checked, by the one-digest checks of
 * {@link verifiedObjects}. The folder is swapped in only when they hold:
 * until then nothing in the workspace has changed, so linking first is
 * safe. Returns the files placed, and the digest of their paths and stamps
 * when every one is a link ({@link linkedVouch}'s, for
 * {@link rememberDirectory}). Undefined when the stamps do not vouch (an
 * object missing, or written since it was checked: stamps unknown to both
 * digests), after removing the folder:
 * the caller then checks each object and places the files as
 * {@link placeTree} does, the objects' stamps looked up one by one.
 */
async function linkTree(
  context: EngineContext,
  out: OutDef,
  hash: Hash,
  entries: readonly ManifestEntry[],
  text: string,
  many: ManyOptions = {},
): Promise<{ files: PlacedFile[]; digest: string | undefined } | undefined> {
  const { cache, state } = context;
  return await buildBeside(out, entries, async (base) => {
    const { stamps, linked } = await statAndLinkTree(objectTree(cache, entries, text, base), many);
    mark("restore: objects linked");
    const digest = await linkedVouch(state, out.path, hash, entries, stamps);
    if (digest === undefined) return undefined;
    const objects = stamps as FileStamp[];
    const files: PlacedFile[] = new Array(entries.length);
    let all = true;
    for (let i = 0; i < entries.length; i++) {
      const { path, hash } = entries[i];
      // Not linked (another filesystem): placed as one file is.
      if (linked[i] === 1) files[i] = { path, hash, stamp: objects[i] };
      else {
        files[i] = await placeOne(cache, base, entries[i], objects[i], "hardlink");
        all = false;
      }
    }
    mark("restore: files placed");
    // A copy has a stamp of its own: the digest is of the links' stamps.
    return { files, digest: all ? digest : undefined };
  });
}

/**
 * A `copy` checkout of the directory `out` (its manifest's files `entries`,
 * parsed from `text`) in one pass over its objects, as {@link linkTree}
 * links: each object stat-ed and, when it holds at most `SMALL_COPY` bytes,
 * copied to its place in the folder built beside the directory (read whole,
 * written to a new file, mode 0644 whatever the umask; the copy's stamp
 * taken), on two threads for a large one ({@link statAndCopyTree}). Only
 * then are the objects' stamps checked, by the one-digest checks of
 * {@link verifiedObjects} ({@link stampsVouch}; the objects' last check
 * first: a copy's stamps are its own, so the directory index holds for the
 * objects' only after a linked checkout), else each object on its own
 * ({@link verifyEach}). The larger objects (and one not of the size its
 * stamp says) are then copied by the kernel, as one file is. The folder is
 * swapped in only when every object is intact with the stamp it had when
 * copied: until then nothing in the workspace has changed, so copying
 * first is safe. Returns the files placed; undefined (after removing the
 * folder) when an object is missing, corrupt or changed since it was
 * copied: the caller then checks each object and places the files as
 * {@link placeTree} does (and places nothing when one is missing or
 * corrupt).
 */
async function copyTree(
  context: EngineContext,
  out: OutDef,
  hash: Hash,
  entries: readonly ManifestEntry[],
  text: string,
  many: ManyOptions = {},
): Promise<{ files: PlacedFile[]; digest: undefined } | undefined> {
  const { cache, state } = context;
  return await buildBeside(out, entries, async (base) => {
    const { stamps, copies } = await statAndCopyTree(objectTree(cache, entries, text, base), many);
    mark("restore: objects copied");
    if (!(await stampsVouch(state, out.path, hash, entries, stamps))) {
      // Not vouched for at once (the objects never checked together: only
      // fetched, say): each checked on its own, as the careful path would,
      // and the copies kept when every object is intact with the stamp it
      // had when it was copied. Else (one missing, corrupt, or changed
      // since) the careful path places them, or finds them so again.
      const checked = await verifyEach(context, hash, entries);
      const same = (stamp: FileStamp, i: number) =>
        stamps[i] !== undefined && sameStamp(stamp, stamps[i]!);
      if (checked === undefined || !checked.every(same)) return undefined;
      mark("restore: objects checked one by one");
    }
    const objects = stamps as FileStamp[];
    const files: PlacedFile[] = new Array(entries.length);
    for (let i = 0; i < entries.length; i++) {
      const { path, hash } = entries[i];
      const stamp = copies[i] ?? await cache.placeCopy(hash, base + path, objects[i]);
      files[i] = { path, hash, stamp };
    }
    mark("restore: files placed");
    return { files, digest: undefined };
  });
}

/**
 * The files of a directory manifest (`entries`, parsed from `text`) as one
 * pass over their objects places them in the folder `base` (ending in "/"):
 * every path relative to the working directory where it lies under it
 * ({@link fromWorkingDir}).
 */
function objectTree(
  cache: EngineContext["cache"],
  entries: readonly ManifestEntry[],
  text: string,
  base: string,
): ObjectTree {
  const short = fromWorkingDir();
  return {
    files: entries,
    manifest: text,
    objectPath: (hash) => short(cache.objectPath(hash)),
    objects: short(cache.objectsDir),
    into: short(base),
  };
}

/**
 * Make a folder beside `out` with the directories `entries` need, fill it
 * with `build` (given the folder's path ending in "/"), and swap it in for
 * whatever is at `out` when `build` returns something; that is returned.
 * The folder is removed when `build` returns undefined or throws: nothing in
 * the workspace has changed then.
 */
async function buildBeside<T>(
  out: OutDef,
  entries: readonly ManifestEntry[],
  build: (base: string) => Promise<T | undefined>,
): Promise<T | undefined> {
  const temp = tempPath(out.abs);
  let swapped = false;
  try {
    makeParents(temp, entries);
    mark("restore: parents made");
    const built = await build(withSlash(temp));
    if (built === undefined) return undefined;
    replaceWith(temp, out.abs);
    swapped = true;
    return built;
  } finally {
    if (!swapped) removePath(temp);
  }
}

/**
 * A function giving an absolute path relative to the process's working
 * directory when it lies under it (else the path as it is). A hardlink
 * checkout makes three path lookups a file (the object's `stat`, then
 * `link`'s two names): relative to the working directory (the project's
 * root, usually), the kernel walks the few components inside the project,
 * not every one from `/`; ~15 % of the link pass's time in a project six
 * directories deep, as the bench's (`cp -al`, its peer, is given relative
 * paths too). Safe because Pivot never changes its working directory
 * (stages may not either: lib/worker/guards.ts), and the helper thread
 * shares it.
 */
function fromWorkingDir(): (abs: string) => string {
  let cwd: string;
  try {
    cwd = withSlash(Deno.cwd());
  } catch {
    return (abs) => abs; // the working directory is gone: absolute paths still work
  }
  // Every path under it loses the same prefix (the objects' directory and
  // each object alike: ObjectTree.objects).
  return (abs) => abs.startsWith(cwd) ? abs.slice(cwd.length) : abs;
}

/**
 * Make a folder beside `out` with the directories `entries` need, fill it
 * with `place`, and swap it in for whatever is at `out`. The folder is this
 * process's own, so each file goes straight to its name (no temporary name
 * and rename per file) and each directory is made once. Removed again when
 * `place` throws.
 */
async function swapIn(
  out: OutDef,
  entries: readonly ManifestEntry[],
  place: (temp: string) => Promise<PlacedFile[]>,
): Promise<PlacedFile[]> {
  const temp = tempPath(out.abs);
  try {
    makeParents(temp, entries);
    const files = await place(temp);
    replaceWith(temp, out.abs);
    return files;
  } catch (error) {
    removePath(temp);
    throw error;
  }
}

/** Put the folder `temp` in the place of whatever is at `abs`. */
function replaceWith(temp: string, abs: string): void {
  removePath(abs);
  ensureDir(dirname(abs));
  Deno.renameSync(temp, abs);
}

/**
 * The stamps of the objects of `entries`, the files of the directory `hash`
 * at `rel`, each checked intact ({@link Cache.verifiedStamp}); undefined
 * when one is missing or corrupt. One stat per object; when the stamps are
 * those of the last check of this manifest's objects, or those the
 * directory index recorded for this directory (its files were these
 * objects: a hard-linked or symlinked tree, removed since), they are intact
 * at once, and no object's own stamp is looked up (one KV entry each).
 */
async function verifiedObjects(
  context: EngineContext,
  rel: string,
  hash: Hash,
  entries: readonly ManifestEntry[],
  many: ManyOptions = {},
): Promise<FileStamp[] | undefined> {
  const { cache, state } = context;
  const stamped = await statMany(entries.map(({ hash }) => cache.objectPath(hash)), many);
  if (await stampsVouch(state, rel, hash, entries, stamped)) return stamped as FileStamp[];
  return await verifyEach(context, hash, entries);
}

/**
 * The stamps of the objects of `entries` (the files of the directory
 * `hash`), each checked intact on its own ({@link Cache.verifiedStamp}: its
 * stamp as last checked, else its content hashed again), and remembered
 * together for the manifest ({@link rememberObjectsIntact}); undefined at
 * the first one missing or corrupt (reported, and moved aside).
 */
async function verifyEach(
  context: EngineContext,
  hash: Hash,
  entries: readonly ManifestEntry[],
): Promise<FileStamp[] | undefined> {
  const { cache, state, warn } = context;
  const stamps: FileStamp[] = new Array(entries.length);
  // A large directory's stamps are in chunks for its manifest: read at once.
  await state.loadObjectChunks(hash);
  for (let i = 0; i < entries.length; i++) {
    const stamp = await cache.verifiedStamp(entries[i].hash, state, warn);
    if (stamp === undefined) return undefined;
    stamps[i] = stamp;
  }
  await rememberObjectsIntact(
    state,
    hash,
    entries.map(({ hash }, i) => ({ hash, stamp: stamps[i] })),
  );
  return stamps;
}

/**
 * True when `stamps`, those of the objects of `entries` (the files of the
 * directory `hash` at `rel`), say at once that every object is intact: all
 * found, and equal to those of the last check of this manifest's objects,
 * or to those the directory index recorded for this directory (its files
 * were these objects: a hard-linked or symlinked tree, removed since).
 */
async function stampsVouch(
  state: EngineContext["state"],
  rel: string,
  hash: Hash,
  entries: readonly ManifestEntry[],
  stamps: readonly (FileStamp | undefined)[],
): Promise<boolean> {
  // A loop, not `every`, which skips the holes of a sparse array.
  for (let i = 0; i < entries.length; i++) if (stamps[i] === undefined) return false;
  const found = stamps as readonly FileStamp[];
  const objects = entries.map(({ hash }, i) => ({ hash, stamp: found[i] }));
  if (await objectsIntact(state, hash, objects)) return true;
  return await indexHolds(
    state,
    rel,
    hash,
    entries.map(({ path }, i) => ({ path, stamp: found[i] })),
  );
}

/**
 * {@link stampsVouch} for a tree just linked from the objects of `entries`:
 * the directory index first, whose digest (of the files' paths with these
 * stamps, {@link stampsDigest}) is the one {@link rememberDirectory} then
 * compares again, so a tree placed again after `rm -r` is digested once,
 * not three times; then the objects' last check. That digest when they
 * vouch, else undefined.
 */
async function linkedVouch(
  state: EngineContext["state"],
  rel: string,
  hash: Hash,
  entries: readonly ManifestEntry[],
  stamps: readonly (FileStamp | undefined)[],
): Promise<string | undefined> {
  // A loop, not `every`, which skips the holes of a sparse array.
  for (let i = 0; i < entries.length; i++) if (stamps[i] === undefined) return undefined;
  const found = stamps as readonly FileStamp[];
  const files = entries.map(({ path }, i) => ({ path, stamp: found[i] }));
  const digest = await stampsDigest(files);
  if (await indexHolds(state, rel, hash, files, digest)) return digest;
  const objects = entries.map(({ hash }, i) => ({ hash, stamp: found[i] }));
  return await objectsIntact(state, hash, objects) ? digest : undefined;
}

/** File operations in flight at once for the files of one directory (copies, reads, writes). */
const PARALLEL_FILES = 8;

/** Make `root` and every directory the files of `entries` need in it, each once. */
function makeParents(root: string, entries: readonly { readonly path: string }[]): void {
  Deno.mkdirSync(root, { recursive: true });
  const made = new Set<string>([""]);
  let last = "";
  for (const { path } of entries) {
    const slash = path.lastIndexOf("/");
    // The parent of the entry before (a manifest lists a directory's files
    // together): no string made, no lookup.
    if (slash === last.length && slash > 0 && path.startsWith(last)) continue;
    const parent = slash < 0 ? "" : path.slice(0, slash);
    last = parent;
    if (made.has(parent)) continue;
    Deno.mkdirSync(join(root, parent), { recursive: true });
    for (
      let p = parent;
      p !== "" && !made.has(p);
      p = p.slice(0, Math.max(0, p.lastIndexOf("/")))
    ) {
      made.add(p);
    }
  }
}

/**
 * Place each of `entries` (objects with stamps `objects`) at its path under
 * `root`, where nothing is, by `mode`; returns the files with their stamps.
 * A hard link or symlink has its object's stamp (a stat follows the link),
 * so only copies are stat-ed. Links, and `copy` mode's copies of small
 * objects (one read, one write), are made one after another, synchronously
 * (each is a few µs of work, less than handing it to another thread);
 * reflinks and large copies go through `Deno.copyFile`, several at once.
 */
async function placeFiles(
  cache: Cache,
  root: string,
  entries: readonly ManifestEntry[],
  objects: readonly FileStamp[],
  mode: CheckoutMode,
  many: ManyOptions = {},
): Promise<PlacedFile[]> {
  const files: PlacedFile[] = new Array(entries.length);
  const base = withSlash(root);
  const place = async (entry: ManifestEntry, i: number) => {
    files[i] = await placeOne(cache, base, entry, objects[i], mode);
  };
  if (mode === "hardlink") {
    // Linked on two threads for a large directory; what was not linked
    // (another filesystem) is placed as one file is.
    const linked = await linkMany(
      entries.map(({ hash }) => cache.objectPath(hash)),
      entries.map(({ path }) => base + path),
      many,
    );
    for (let i = 0; i < entries.length; i++) {
      const { path, hash } = entries[i];
      if (linked[i] === 1) files[i] = { path, hash, stamp: objects[i] };
      else await place(entries[i], i);
    }
  } else if (mode === "symlink") {
    for (let i = 0; i < entries.length; i++) await place(entries[i], i);
  } else if (mode === "copy") {
    // Small objects are copied synchronously (see Cache.placeCopy): in
    // turn, as `cp -r` does, with no thread hand-off per file.
    for (let i = 0; i < entries.length; i++) {
      const { path, hash } = entries[i];
      files[i] = { path, hash, stamp: await cache.placeCopy(hash, base + path, objects[i]) };
    }
  } else {
    await eachLimited(entries, PARALLEL_FILES, place);
  }
  return files;
}

/**
 * Place `entry` (its object's stamp `object`) at its path under `base` (a
 * path ending in "/"), where nothing is, by `mode`; returns it with its
 * stamp. A hard link or symlink has its object's stamp (a stat follows the
 * link), so only a copy is stat-ed.
 */
async function placeOne(
  cache: Cache,
  base: string,
  entry: ManifestEntry,
  object: FileStamp,
  mode: CheckoutMode,
): Promise<PlacedFile> {
  const dest = base + entry.path;
  const linked = await cache.placeNew(entry.hash, dest, mode);
  return {
    path: entry.path,
    hash: entry.hash,
    stamp: linked ? object : stampOf(Deno.statSync(dest)),
  };
}

/** A staged out, hashed (and stored, unless the run commits nothing). */
interface HashedOut {
  readonly out: OutDef;
  readonly staged: string;
  readonly hash: Hash;
  readonly manifest: DirManifest | undefined;
  /** For a directory: the total size of its files. */
  readonly size: number;
  /** For a directory: its files with their stamps once in the workspace. */
  readonly files: readonly PlacedFile[];
}

/**
 * Files of a directory between two looks at the heap during its commit
 * (see {@link releaseHeapIfGrown}: a collection when it has grown).
 */
const COLLECT_EVERY = 2048;

/** What {@link storeDirectory} found: the manifest, and each file's stamp as it is left. */
interface StoredDirectory {
  readonly manifest: DirManifest;
  readonly size: number;
  readonly files: readonly PlacedFile[];
  /** With `store`: the stamp of each file's object, in manifest order. */
  readonly objects?: readonly FileStamp[];
  /**
   * True when the objects' stamps were not remembered one by one
   * ({@link keepsStamps}): the caller remembers `objects` for the manifest
   * (`StateStore.rememberObjectChunks`).
   */
  readonly stampsKept?: boolean;
}

/** True when a store of `files` files with `options` keeps its objects' stamps for chunks. */
function keepsStamps(
  options: { readonly store: boolean; readonly chunked?: boolean },
  files: number,
): boolean {
  return options.store && options.chunked === true && files >= CHUNKED_FROM;
}

/**
 * Where the files of a directory come from as it is stored: read from the
 * directory (a stage wrote them; {@link readFrom}), or written there now
 * from what the stage returned ({@link writtenFrom}).
 */
interface FileSource {
  /** The files, relative to the directory, sorted (a manifest's order). */
  readonly paths: readonly string[];
  /** The files a stage returned, written here from memory; undefined when they are read. */
  readonly returned?: ReturnedFiles;
  /**
   * File `i` at `abs`: its stamp, and its bytes (undefined for a file to
   * hash as a stream: larger than {@link SMALL_FILE}, or changed while it
   * was read). `viaLibc`: read through libc (a large directory).
   */
  take(
    i: number,
    abs: string,
    viaLibc: boolean,
  ): { readonly stamp: FileStamp; readonly bytes: Uint8Array | undefined };
}

/** The files a stage wrote in `dir`, each read once as it is stored. */
function readFrom(dir: string): FileSource {
  return { paths: listFiles(dir), take: (_i, abs, viaLibc) => readSmallFile(abs, viaLibc) };
}

/**
 * The files a stage returned (`loaders.files()`, their paths checked:
 * `checkReturnedOuts`), each written once at its path under `dir` (made
 * here, with every directory they need) as it is stored, from memory:
 * read-only with `readOnly` (the file becomes its object: `hardlink` mode).
 */
function writtenFrom(dir: string, returned: ReturnedFiles, readOnly: boolean): FileSource {
  const { paths } = returned;
  makeParents(dir, paths.map((path) => ({ path })));
  return {
    paths,
    returned,
    take: (i, abs) => {
      const bytes = contentOf(returned, i);
      return { stamp: writeNewFileSync(abs, bytes, readOnly), bytes };
    },
  };
}

/**
 * Hash every file of the directory at `dir` and, with `store`, store it in
 * the cache, reading each file once: a small file is read whole, hashed and
 * written as an object from memory; a large one is hashed as a stream and
 * copied (or linked) by the kernel. Several files are in flight at once.
 * Creating a file is kernel work (0.06-0.5 ms a file on this project's ext4
 * disks), the one part of the commit that two cores can share. In a
 * directory of `WRITER_FROM` files or more, small objects are made by an
 * object writer thread (lib/storage/object_writer.ts) while it keeps up,
 * and by this thread while it is behind (docs/performance.md, "Directory
 * outs in copy mode: an object writer thread"); in a smaller one, on two
 * lanes, this thread (synchronously while the disk answers at once:
 * `CreatePace`, lib/storage/cache.ts) and Deno's blocking pool, every other
 * file each ("Directory outs, first run, seventh session").
 *
 * With `link` (hardlink checkout mode), every file is left as a hard link to
 * its object: a new object is the file itself, made read-only; a file whose
 * content the cache already held is replaced by a link to that object
 * ({@link storeLinkedDirectory}).
 */
async function storeDirectory(
  cache: Cache,
  dir: string,
  options: { readonly store: boolean; readonly link: boolean; readonly chunked?: boolean },
  source: FileSource = readFrom(dir),
): Promise<StoredDirectory> {
  if (source.returned !== undefined && source.paths.length >= PARALLEL_FROM_STARTED) {
    return await storeReturnedDirectory(cache, dir, source.returned, options);
  }
  if (options.store && options.link) {
    return await storeLinkedDirectory(cache, dir, options.chunked ?? false, source);
  }
  const { paths } = source;
  const files: PlacedFile[] = new Array(paths.length);
  const base = withSlash(dir);
  const batch = cache.batch(paths.length, { stampsKept: keepsStamps(options, paths.length) });
  const objects: FileStamp[] | undefined = options.store ? new Array(paths.length) : undefined;
  // Copy mode, a large directory: objects made on a writer thread beside this one.
  const fromMemory = options.store && !options.link;
  const writer = fromMemory && paths.length >= WRITER_FROM ? ObjectWriter.start() : undefined;
  // Files read through libc in a large directory (binding it costs ~2.5 ms once).
  const viaLibc = paths.length >= WRITER_FROM;
  // The writer's objects, not waited for file by file: this thread reads
  // and hashes the next files meanwhile (and makes objects itself while
  // the writer is behind). Counted, not kept (100,000 promises kept alive
  // made each of the run's collections longer); a failure is kept.
  let writing = 0;
  let written: PromiseWithResolvers<void> | undefined;
  let failed: { error: unknown } | undefined;
  try {
    await eachLimited(paths, PARALLEL_FILES, async (path, i) => {
      if (failed !== undefined) throw failed.error;
      const abs = base + path;
      const { stamp, bytes } = source.take(i, abs, viaLibc);
      const hash = bytes !== undefined ? hashBytesSync(bytes) : await hashFile(abs);
      if (objects) {
        if (bytes !== undefined && writer !== undefined) {
          writing++;
          cache.storeBytes(bytes, hash, batch, { writer }).then(
            (made) => void (objects[i] = made),
            (error) => void (failed ??= { error }),
          ).finally(() => {
            if (--writing === 0) written?.resolve();
          });
          // Its answers are taken only at this thread's turns: a bound on
          // those waiting keeps their promises and bytes off the heap.
          await writer.catchUp();
        } else if (bytes !== undefined) {
          // Two lanes: every other new object is made on Deno's blocking
          // pool while this thread makes the others, so both cores create.
          const background = i % 2 === 1;
          objects[i] = await cache.storeBytes(bytes, hash, batch, { background });
        } else objects[i] = (await cache.storeFile(abs, hash, false, batch)).stamp;
      }
      files[i] = { path, hash, stamp };
      if (i % COLLECT_EVERY === COLLECT_EVERY - 1) await releaseHeapIfGrown();
    });
  } finally {
    // Every object settled before the writer ends: a file it renamed after
    // this thread made the same object itself would leave a stamp untrue.
    writer?.flush();
    if (writing > 0) {
      written = Promise.withResolvers();
      await written.promise;
    }
    writer?.close();
  }
  if (failed !== undefined) throw failed.error;
  // What the store made per file and the writer's batches are garbage now,
  // and V8 collects late: without this the heap reached ~150 MiB by the
  // commit's end (100,000 files) and the run's peak went over 300 MiB.
  if (writer !== undefined) await releaseHeapAndFreed();
  const entries = files.map(({ path, hash }) => ({ path, hash }));
  const size = files.reduce((total, f) => total + f.stamp.size, 0);
  return { manifest: { files: entries }, size, files, objects, stampsKept: batch.stampsKept };
}

/**
 * {@link storeDirectory} of a large directory a stage returned
 * (`loaders.files()`; its files' parent directories made): each content
 * hashed from memory here, then every file written once and each new
 * content's object made from its first file, on this thread and a helper
 * while a core is free ({@link Cache.writeReturnedNew}): in `hardlink`
 * mode (`store` and `link`) each file read-only and linked at its object's
 * name, else a writable file and, with `store`, an object written from the
 * same bytes. The rest (an object present already, content met earlier, a
 * link refused, an object the helper left) go the way one file goes
 * ({@link storeLinked}, `Cache.storeBytes`). docs/returned_files.md.
 */
async function storeReturnedDirectory(
  cache: Cache,
  dir: string,
  returned: ReturnedFiles,
  options: { readonly store: boolean; readonly link: boolean; readonly chunked?: boolean },
): Promise<StoredDirectory> {
  const { paths } = returned;
  const n = paths.length;
  const base = withSlash(dir);
  const link = options.store && options.link;
  const batch = cache.batch(n, { stampsKept: keepsStamps(options, n) });
  const hashes = new Array<Hash>(n);
  for (let i = 0; i < n; i++) hashes[i] = hashBytesSync(contentOf(returned, i));
  mark(`commit: ${n} files hashed`);
  const shared = coreFree();
  const helper = shared ? HelperThread.start() : undefined;
  // No core free now: asked again as the files are written, so that a
  // moment's load does not keep seconds of creates on one thread.
  let late: HelperThread | undefined;
  const lateHelper = () => coreFree() ? (late = HelperThread.start()) : undefined;
  let written: { stamps: FileStamp[]; made: (FileStamp | undefined)[] };
  try {
    const many: ManyOptions = shared ? { helper } : { parallelFrom: Infinity, lateHelper };
    if (options.store) {
      written = await cache.writeReturnedNew(base, returned, hashes, batch, link, many);
    } else {
      const { data, ends } = returned;
      const objectHashes = new Array<Hash | undefined>(n).fill(undefined);
      const files = { from: base, paths, data, ends, objectHashes, objects: "" };
      const { stamps } = await writeReturnedMany({ ...files, objectPath: (h) => h }, false, many);
      written = { stamps, made: [] };
    }
  } finally {
    // Closed once the files are written: its heap (the paths it was sent) goes with it.
    helper?.close();
    late?.close();
  }
  mark(`commit: ${n} files written`);
  const files: PlacedFile[] = paths.map((path, i) => ({
    path,
    hash: hashes[i],
    stamp: written.stamps[i],
  }));
  const manifest = { files: files.map(({ path, hash }) => ({ path, hash })) };
  const size = n === 0 ? 0 : returned.ends[n - 1];
  if (!options.store) return { manifest, size, files };
  const objects = new Array<FileStamp>(n);
  const rest: number[] = [];
  for (let i = 0; i < n; i++) {
    const made = written.made[i];
    if (made !== undefined) objects[i] = made;
    else rest.push(i);
  }
  await eachLimited(rest, PARALLEL_FILES, async (i) => {
    if (link) {
      const stored = await storeLinked(cache, base + paths[i], hashes[i], files[i].stamp, batch);
      files[i] = { ...files[i], stamp: stored.stamp };
      objects[i] = stored.object;
    } else objects[i] = await cache.storeBytes(contentOf(returned, i), hashes[i], batch);
  });
  return { manifest, size, files, objects, stampsKept: batch.stampsKept };
}

/**
 * {@link storeDirectory} with `store` and `link`: every file hashed (read
 * once, as there) and each new content's object made, a hard link to its
 * file at the object's name, made read-only. A large directory's files are
 * read, hashed and linked in one pass on two threads, this one and a
 * helper started once the directory is listed (while a core is free, as a
 * checkout's; {@link Cache.readAndLinkNew}): the reads and hashes (~25 µs a
 * file) and the links (the kernel's work, most of a new object's cost)
 * both go ~1.5-2× as fast on two, and each file is linked while its inode
 * is fresh. A smaller one is read and hashed here, then its new objects
 * linked ({@link Cache.linkAbsent}). The rest (objects present already, content met twice, links
 * refused, large files hashed as streams) go the way one file goes
 * ({@link storeLinked}).
 */
async function storeLinkedDirectory(
  cache: Cache,
  dir: string,
  chunked: boolean,
  source: FileSource,
): Promise<StoredDirectory> {
  const { paths } = source;
  const n = paths.length;
  const base = withSlash(dir);
  const files: PlacedFile[] = new Array(n);
  const objects = new Array<FileStamp>(n);
  const batch = cache.batch(n, { stampsKept: keepsStamps({ store: true, chunked }, n) });
  const returned = source.returned;
  if (n >= PARALLEL_FROM_STARTED && returned === undefined) {
    const shared = coreFree();
    // Its start (~30 ms) overlaps this thread's first files, which do not wait for it.
    const helper = shared ? HelperThread.start() : undefined;
    try {
      const many: ManyOptions = shared ? { helper } : { parallelFrom: Infinity };
      const readOne: ReadOne = (abs) => {
        const { stamp, bytes } = readSmallFile(abs, true);
        return { stamp, hash: bytes !== undefined ? hashBytesSync(bytes) : undefined };
      };
      const read = await cache.readAndLinkNew(base, paths, readOne, SMALL_FILE, batch, many);
      const { stamps, hashes, made } = read;
      // Larger files (or changed while read): hashed as streams, with the stamp of the read.
      const streamed: number[] = [];
      for (let i = 0; i < n; i++) if (hashes[i] === undefined) streamed.push(i);
      await eachLimited(streamed, PARALLEL_FILES, async (i) => {
        hashes[i] = await hashFile(base + paths[i]);
      });
      for (let i = 0; i < n; i++) {
        files[i] = { path: paths[i], hash: hashes[i]!, stamp: stamps[i] };
        if (made[i] !== undefined) objects[i] = made[i]!;
      }
    } finally {
      // Closed once the links are made: its heap (the paths it was sent) goes with it.
      helper?.close();
    }
    mark(`commit: ${n} files hashed and linked`);
    // No collection here: the engine makes one once the stage's commit is
    // done (COLLECT_AFTER_FILES), ~0.5 s later; one here as well cost the
    // main thread 0.4-0.6 s (2-3 full collections of ~60 MiB live).
  } else {
    await eachLimited(paths, PARALLEL_FILES, async (path, i) => {
      const abs = base + path;
      const { stamp, bytes } = source.take(i, abs, n >= WRITER_FROM);
      const hash = bytes !== undefined ? hashBytesSync(bytes) : await hashFile(abs);
      files[i] = { path, hash, stamp };
      if (i % COLLECT_EVERY === COLLECT_EVERY - 1) await releaseHeapIfGrown();
    });
    mark(`commit: ${n} files ${returned !== undefined ? "written" : "hashed"}`);
    const hashes = files.map((f) => f.hash);
    const reads = files.map((f) => f.stamp);
    const made = await cache.linkAbsent(base, paths, hashes, reads, batch);
    for (let i = 0; i < n; i++) if (made[i] !== undefined) objects[i] = made[i]!;
    await releaseHeapIfGrown();
  }
  const rest: number[] = [];
  for (let i = 0; i < n; i++) if (objects[i] === undefined) rest.push(i);
  await eachLimited(rest, PARALLEL_FILES, async (i) => {
    const { path, hash, stamp } = files[i];
    const stored = await storeLinked(cache, base + path, hash, stamp, batch);
    files[i] = { path, hash, stamp: stored.stamp };
    objects[i] = stored.object;
  });
  const entries = files.map(({ path, hash }) => ({ path, hash }));
  const size = files.reduce((total, f) => total + f.stamp.size, 0);
  return { manifest: { files: entries }, size, files, objects, stampsKept: batch.stampsKept };
}

/**
 * Store the file at `abs` as a hard link (read-only) and leave it as a link
 * to its object; returns its stamp then, and its object's. `stamp` is the
 * file's as it was read to be hashed: a new object linked to it has it, and
 * is not stat-ed again.
 */
async function storeLinked(
  cache: Cache,
  abs: string,
  hash: Hash,
  stamp: FileStamp,
  batch: ObjectBatch,
): Promise<{ stamp: FileStamp; object: FileStamp }> {
  const object = (await cache.storeFile(abs, hash, true, batch, stamp)).stamp;
  if (object.ino === stamp.ino) return { stamp, object };
  // The object predates this file (same content), or the link was refused
  // (another filesystem): the workspace file becomes the object.
  Deno.removeSync(abs);
  const linked = await cache.placeNew(hash, abs, "hardlink");
  return { stamp: linked ? object : stampOf(Deno.statSync(abs)), object };
}

/**
 * Store the content of an out at `at` (a file, or a directory with
 * `manifest`) in the cache, linking when `link`. A directory of
 * {@link CHUNKED_FROM} files or more has its objects' stamps remembered in
 * chunks for its manifest, once every object is stored.
 */
async function storeContent(
  { cache, state }: Pick<EngineContext, "cache" | "state">,
  at: string,
  hashed: {
    readonly hash: Hash;
    readonly manifest: DirManifest | undefined;
    readonly bytes?: Uint8Array;
  },
  link: boolean,
): Promise<void> {
  if (!hashed.manifest) {
    if (hashed.bytes !== undefined && !link) await cache.storeBytes(hashed.bytes, hashed.hash);
    else await cache.storeFile(at, hashed.hash, link);
    return;
  }
  const files = hashed.manifest.files;
  // A large directory: each object's stamp as stored or found intact,
  // remembered for the manifest instead of one by one.
  const chunked = files.length >= CHUNKED_FROM;
  const batch = chunked ? cache.batch(files.length, { stampsKept: true }) : undefined;
  const stamps: FileStamp[] = new Array(files.length);
  await eachLimited(files, PARALLEL_FILES, async (file, i) => {
    stamps[i] = (await cache.storeFile(join(at, file.path), file.hash, link, batch)).stamp;
  });
  const hash = await cache.storeManifest(hashed.manifest);
  if (chunked) state.rememberObjectChunks(hash, files.map((file) => file.hash), stamps);
}

/** Remember the hashes of an out just placed in the workspace, so they are not re-read. */
async function rememberPlaced(
  state: EngineContext["state"],
  out: OutDef,
  hashed: {
    readonly hash: Hash;
    readonly manifest: DirManifest | undefined;
    readonly files: readonly PlacedFile[];
  },
  lease?: PlacementLease,
): Promise<void> {
  if (!hashed.manifest) {
    await state.rememberFileHash(out.path, stampOf(Deno.statSync(out.abs)), hashed.hash);
    return;
  }
  await rememberDirectory(out.abs, out.path, hashed.files, hashed.hash, state, undefined, lease);
}

/** An out as a lock file records it: a directory with its file count and size. */
function lockOut(out: OutDef, hashed: HashedOut): LockOut {
  const base = { path: out.path, hash: hashed.hash, kind: out.kind };
  if (!hashed.manifest) return base;
  return { ...base, files: hashed.manifest.files.length, size: hashed.size };
}

/** Options of {@link commitStagedOuts}. */
export interface CommitOptions {
  /** Hash and place the outs, store nothing. */
  readonly noCommit: boolean;
  /**
   * Take the storing of an out that is placed by a rename, not from the
   * cache (a small file, in copy or reflink mode: its bytes are in memory),
   * to do later; the caller does it before it records the run. Without it
   * every out is stored before any is placed. A cached out's `.gitignore`
   * line is then also added later (before the run is recorded, so a lock
   * file never names an out that git would show): appending to the
   * `.gitignore` costs four system calls a stage on a chain's path. So is
   * the record that a stored directory's objects are intact (a digest of
   * every object's stamp), which only a later checkout reads.
   */
  readonly deferStore?: (store: () => Promise<unknown>) => void;
  /**
   * The stage's execution lock, held by the caller from before the run
   * until `held` turns false: a directory out placed under it is vouched
   * for to the stages that read it while it lasts (`PlacementLease`).
   */
  readonly lease?: PlacementLease;
  /**
   * The files of each `loaders.files()` out, by out name, as the stage
   * returned them, checked (`checkReturnedOuts`): written here at the out's
   * staged place (empty), each once, as it is stored.
   */
  readonly returned?: Readonly<Record<string, ReturnedFiles>>;
}

/**
 * Commit a stage's staged outs: hash them, store them in the cache (unless
 * `noCommit`; some later, see {@link CommitOptions.deferStore}), and move
 * them into the workspace. Every out, cached or not, gets a cache object so
 * the run cache can restore it; `cache: false` only means it is not checked
 * out from the cache.
 */
export async function commitStagedOuts(
  context: EngineContext,
  stage: StageDef,
  stagedOuts: string,
  options: CommitOptions,
): Promise<LockOut[]> {
  // All or nothing: no out is placed if one would land outside the project.
  for (const out of stage.outs) refuseEscapingOut(context.project.root, out);
  const { cache, state } = context;
  const store = !options.noCommit;
  // Hash and store every out before any is placed. Hard-linking the staged
  // file into the cache makes the workspace file and the object one
  // read-only inode; copies keep the workspace file writable.
  const hashed = await Promise.all(stage.outs.map(async (out): Promise<HashedOut> => {
    const staged = stagedOutPath(stagedOuts, out);
    const mode = modeFor(out, context.checkoutMode);
    const link = store && out.cache && mode === "hardlink";
    if (!out.isDir) {
      // A small file is read once: hashed in memory and stored from memory.
      const { bytes } = readSmallFile(staged);
      const hash = bytes !== undefined ? await hashBytes(bytes) : await hashFile(staged);
      if (store) {
        // Placed by a rename (not from the cache): the stages below need
        // not wait for the object (three trips through Deno's blocking pool).
        const later = options.deferStore !== undefined && !(out.cache && sharesObject(mode));
        if (bytes !== undefined && !link && later) {
          options.deferStore!(() => cache.storeBytes(bytes, hash, undefined, { background: true }));
        } else if (bytes !== undefined && !link) await cache.storeBytes(bytes, hash);
        else await cache.storeFile(staged, hash, link);
      }
      return { out, staged, hash, manifest: undefined, size: 0, files: [] };
    }
    const returned = options.returned?.[out.name];
    const source = returned === undefined ? readFrom(staged) : writtenFrom(staged, returned, link);
    const stored = await storeDirectory(cache, staged, { store, link, chunked: true }, source);
    const { objects, stampsKept, ...dir } = stored;
    mark(`commit: ${out.path} stored (${dir.files.length} files)`);
    const hash = store ? await cache.storeManifest(dir.manifest) : await hashManifest(dir.manifest);
    // A large directory's object stamps, kept by the store: remembered for
    // the manifest, in chunks (answered in this process at once, written
    // to KV with the run's other state: none if the run ends first).
    if (objects && stampsKept) {
      state.rememberObjectChunks(hash, dir.manifest.files.map((e) => e.hash), objects);
    }
    // Every object was just written or checked intact, with these stamps:
    // recorded for the manifest, a checkout of this directory checks them
    // all by one digest (else by one KV entry each, the first time). Only a
    // later checkout reads it: with `deferStore`, made once the stages below
    // have started (0.1-0.2 s at 100,000 files, off their path).
    if (objects) {
      const entries = dir.manifest.files;
      const remember = () =>
        rememberObjectsIntact(
          state,
          hash,
          entries.map((e, i) => ({ hash: e.hash, stamp: objects[i] })),
        );
      if (options.deferStore !== undefined) options.deferStore(remember);
      else await remember();
    }
    return { out, staged, hash, ...dir };
  }));
  const result: LockOut[] = [];
  for (let item of hashed) {
    const { out, staged } = item;
    const mode = modeFor(out, context.checkoutMode);
    if (store && out.cache && sharesObject(mode) && !(out.isDir && mode === "hardlink")) {
      removePath(out.abs);
      ensureDir(dirname(out.abs));
      // The object may predate this run (same content as before): link to
      // it. (A directory in hardlink mode is made of links already.)
      item = await placeFromCache(context, out, item, mode);
      removePath(staged);
    } else {
      moveIntoPlace(staged, out.abs);
    }
    mark(`commit: ${out.path} placed`);
    await rememberPlaced(state, out, item, options.lease);
    if (store && options.deferStore !== undefined) {
      if (out.cache) {
        // Queued in placing order; written (with any queued before) before the run is recorded.
        ignoreInGitLater(context.project.root, out.abs);
        options.deferStore(() => Promise.resolve(writeQueuedIgnores()));
      }
    } else {
      ignoreCachedOut(context, out);
    }
    result.push(lockOut(out, item));
  }
  return result;
}

/**
 * Rename `staged` to `dest`, replacing what is there. A rename replaces a
 * file, a link or an empty directory by itself; anything else there (a
 * directory with files, a file where a directory goes) is removed first.
 * Trying the rename first spares a first run a failing removal a stage
 * (nothing is there yet, and a `NotFound` error costs several stats); a
 * re-run replaces the previous file by the rename instead of an unlink and
 * a rename.
 */
function moveIntoPlace(staged: string, dest: string): void {
  ensureDir(dirname(dest));
  try {
    Deno.renameSync(staged, dest);
    return;
  } catch {
    // Something a rename cannot replace, another filesystem, or a directory
    // removed since this process made it: the whole way below.
  }
  removePath(dest);
  ensureDir(dirname(dest));
  try {
    renameOrCopy(staged, dest);
  } catch (error) {
    // Its directory removed since this process made it: make it again.
    if (!(error instanceof Deno.errors.NotFound)) throw error;
    forgetDir(dirname(dest));
    ensureDir(dirname(dest));
    renameOrCopy(staged, dest);
  }
}

/**
 * Rename, or copy then remove when `staged` is on another filesystem (a
 * project under `/dev`, whose staging is elsewhere: lib/worker/staging.ts).
 */
function renameOrCopy(staged: string, dest: string): void {
  try {
    Deno.renameSync(staged, dest);
  } catch (error) {
    if (!(error instanceof Error && "code" in error && error.code === "EXDEV")) throw error;
    copyTreeSync(staged, dest);
    removePath(staged);
  }
}

/** Place `item` from the cache (a file, or each file of a directory); returns it with its files' stamps. */
async function placeFromCache(
  context: EngineContext,
  out: OutDef,
  item: HashedOut,
  mode: CheckoutMode,
): Promise<HashedOut> {
  if (!item.manifest) {
    await context.cache.place(item.hash, out.abs, mode);
    return item;
  }
  const entries = item.manifest.files;
  const objects = entries.map((f) => stampOf(Deno.statSync(context.cache.objectPath(f.hash))));
  const files = await swapIn(
    out,
    entries,
    (temp) => placeFiles(context.cache, temp, entries, objects, mode),
  );
  return { ...item, files };
}

/** Put a workspace out that is intact but missing from the cache back into it. */
export async function recacheOut(
  context: EngineContext,
  out: OutDef,
  locked: LockOut,
): Promise<void> {
  if (!out.isDir) {
    await context.cache.storeFile(out.abs, locked.hash, false);
    return;
  }
  const dir = await storeDirectory(context.cache, out.abs, { store: true, link: false });
  await context.cache.storeManifest(dir.manifest);
}

/**
 * Store a stage's outs as they are in the workspace (for `pivot commit`).
 * Throws an {@link OutputError} naming the first missing out.
 */
export async function storeWorkspaceOuts(
  context: EngineContext,
  stage: StageDef,
): Promise<LockOut[]> {
  const result: LockOut[] = [];
  for (const out of stage.outs) {
    const now = await hashArtifact(out.abs, out.path, out.isDir, context.state, context.cache);
    if (!now) {
      throw new OutputError(
        `stage '${stage.name}': out '${out.name}' (${out.path}) is missing: run the stage (pivot repro ${stage.name}) instead of committing it`,
      );
    }
    const link = out.cache && modeFor(out, context.checkoutMode) === "hardlink";
    // A directory the index answered for has its manifest in the cache, but
    // maybe not its files: commit needs the list to store them.
    const manifest = now.isDir
      ? await dirManifest(now, context.cache) ??
        (await storeDirectory(context.cache, out.abs, { store: false, link: false })).manifest
      : undefined;
    await storeContent(context, out.abs, { hash: now.hash, manifest }, link);
    ignoreCachedOut(context, out);
    result.push(
      now.isDir
        ? { path: out.path, hash: now.hash, kind: out.kind, files: now.files, size: now.size }
        : { path: out.path, hash: now.hash, kind: out.kind },
    );
  }
  return result;
}
