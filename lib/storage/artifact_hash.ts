/**
 * Hashes of files and directories in the workspace, through the state
 * store: a file whose path, mtime, size and inode are unchanged is never
 * re-read, and a directory whose files all have their recorded stamps costs
 * one lookup, not one per file.
 *
 * A directory's hash is the hash of its manifest (the sorted list of its
 * files and their hashes), and the manifest is stored as a cache object when
 * it is computed, so lock files record a directory by that one hash (with
 * its file count and size) and `status --explain` can still name the files
 * that changed by diffing two manifests.
 *
 * The directory index works as git's index does: every file is stat-ed (a
 * directory's own mtime changes only when entries are added or removed
 * directly in it, not when a file in it is rewritten, so it proves nothing),
 * and the stamps of all its files, digested, are compared with the digest
 * recorded with the directory's hash. Equal: the recorded hash holds, and no
 * per-file entry is even loaded. Different: the per-file index of that
 * directory (stored apart from other files' entries, in chunks) is loaded,
 * and only files whose stamps changed are read. Racy files (see
 * {@link isRacy}: modified after the run's clock marker) are re-read until
 * they settle, as git does with racily clean entries.
 *
 * `stat` is synchronous here on purpose: a no-op run stats every dep and out,
 * and a sync stat costs a few µs where an async one costs ~40 µs.
 *
 * @module
 */

import {
  listFiles,
  listingHolds,
  notedListing,
  noteListing,
  stampsDigest,
  withSlash,
} from "../dir_walk.ts";
import { statOrUndefined } from "../paths.ts";
import { type Cache, type DirManifest, hashManifest, type ManifestEntry } from "./cache.ts";
import type { Hash } from "./hash.ts";
import { hashBytes, hashFile } from "./hash.ts";
import { takePrehash } from "./prehash.ts";
import {
  type FileStamp,
  isRacy,
  NS,
  type RacyClock,
  racyClock,
  stampOf,
  stampOfLibc,
  type StateStore,
} from "./state.ts";
import { HelperThread, PARALLEL_FROM, statMany } from "./stat_many.ts";
import { readDirEntries, readSmall } from "../libc_fs.ts";
import { mark } from "../trace.ts";
import { threshold } from "../test_thresholds.ts";

// The walk and the stamps' digest live in lib/dir_walk.ts (the launcher's gate uses them too).
export { listFiles, withSlash };

/** A directory's hash, with its file count and total size. */
export interface DirHash {
  readonly isDir: true;
  /** The hash of its manifest. */
  readonly hash: Hash;
  /** How many files it holds. */
  readonly files: number;
  /** Total size of its files, in bytes. */
  readonly size: number;
  /**
   * The manifest, when it was computed now; undefined when the directory
   * index answered (then the manifest is a cache object: {@link dirManifest}).
   */
  readonly manifest: DirManifest | undefined;
  /**
   * The digest of its files' stamps ({@link stampsDigest}) that this hash
   * was found from, when every one of them was settled (not racy): while
   * the walk's digest is this, the hash holds (the verified index records
   * it, lib/engine/verified.ts). Undefined when a file was racy, or the
   * hash did not come from a walk.
   */
  readonly stamps?: string;
  /**
   * True when this hash was taken from a walk made moments ago instead of
   * a walk now ({@link HashOptions.reuse}): a decision that would act on
   * it walks again first (lib/engine/engine.ts).
   */
  readonly reused?: true;
  /**
   * With {@link reused}: the hash is the one this process placed there,
   * under the lock of the stage that wrote it, which it has held ever since
   * ({@link PlacementLease}): no Pivot process can have written the
   * directory since it was placed, so a decision under a reader's lock may
   * act on it without walking again.
   */
  readonly vouched?: true;
}

/**
 * Whether this process still holds the execution lock of the stage whose
 * out a directory is, taken before it placed the directory there
 * ({@link rememberDirectory}): while `held`, every Pivot writer of the
 * directory (a run of that stage, a `checkout`, a `commit`) waits for that
 * lock, so the tree is the one placed, save for edits by hand or by other
 * programs, which the next run sees by their stamps (the per-file index
 * holds the stamps placed). The engine sets `held` false before it releases
 * the lock.
 */
export interface PlacementLease {
  readonly held: boolean;
}

/** The hash of a file or directory as it is now. */
export type ArtifactHash =
  | { readonly isDir: false; readonly hash: Hash }
  | DirHash;

/** The hash of the file at `abs` (stat `info`), through the state cache under `rel`. */
async function hashStatted(
  abs: string,
  rel: string,
  info: Deno.FileInfo,
  clock: RacyClock,
  state: StateStore,
): Promise<Hash> {
  const stamp = stampOf(info);
  const cached = await state.cachedFileHash(rel, stamp);
  if (cached !== undefined) return cached;
  // Started at the child's start when the launcher's gate saw it change (prehash.ts).
  const early = await takePrehash(abs, stamp);
  const hash = early?.hash ?? await hashFile(abs);
  // A "racy" hash is not remembered (see isRacy), nor an early one read
  // before a marker proved its stamp settled. Outs Pivot writes itself are
  // remembered by the engine, which knows their content.
  if ((early?.settled ?? true) && !isRacy(stamp, clock)) {
    await state.rememberFileHash(rel, stamp, hash);
  }
  return hash;
}

/**
 * Hash a dep or out: a file, or (with `isDir`) a directory as the hash of its
 * manifest. Returns undefined when it is missing or of the other kind. A
 * directory's manifest, when computed, is stored in `cache` (if given).
 */
export async function hashArtifact(
  abs: string,
  rel: string,
  isDir: boolean,
  state: StateStore,
  cache?: Cache,
  options: HashOptions = {},
): Promise<ArtifactHash | undefined> {
  if (isDir && options.reuse) {
    const recent = recentWalks.get(abs);
    // Placed by this process under a lock it still holds: every reader may
    // take it, with no time limit (see PlacementLease).
    if (recent?.lease?.held) return { ...recent.hashed, reused: true, vouched: true };
    recentWalks.delete(abs);
    if (recent !== undefined && performance.now() - recent.at <= REUSE_MS) {
      return { ...recent.hashed, reused: true };
    }
  }
  // Read before the stat: see isRacy.
  const clock = racyClock();
  const info = statOrUndefined(abs);
  if (!info) return undefined;
  if (!isDir) {
    if (!info.isFile) return undefined;
    return { isDir: false, hash: await hashStatted(abs, rel, info, clock, state) };
  }
  if (!info.isDirectory) return undefined;
  const hashed = await hashDirectory(abs, rel, state, cache);
  if (cache !== undefined) noteWalk(abs, hashed);
  return hashed;
}

/** Options of {@link hashArtifact}. */
export interface HashOptions {
  /**
   * Take a directory's hash from a walk of it made in the last
   * {@link REUSE_MS} by this process (or from Pivot placing it there), once,
   * instead of stat-ing every file again: a directory that is one stage's
   * out and the next one's dep is walked once per run. The hash says so
   * ({@link DirHash.reused}). Only for decisions that either are checked
   * again under the stage's lock (made without it), or, made under it, act
   * only on a fresh walk: a skip may rest on a reused walk (it writes
   * nothing, and the verified index records the walk's own stamps, so a
   * later change is seen), but a run or restore decides again without
   * reuse, so that no lock file records a hash older than its lock (a
   * `checkout`, holding the lock, may have replaced the directory between
   * the walk and the lock).
   */
  readonly reuse?: boolean;
}

/** How long a directory walk may be reused (see {@link HashOptions.reuse}). */
export const REUSE_MS = 1_000;

/**
 * The last walk of each directory (by absolute path), for
 * {@link HashOptions.reuse}, with the lease of the lock it was placed under
 * when Pivot placed it ({@link rememberDirectory}).
 */
const recentWalks = new Map<
  string,
  { readonly hashed: DirHash; readonly at: number; readonly lease?: PlacementLease }
>();

/**
 * Forget every walk noted for {@link HashOptions.reuse}: at the start of a
 * wave, so that a walk is reused only within the wave that made it (watch
 * mode runs a wave after a change, often within {@link REUSE_MS} of the
 * last, and a decision that reuses a walk and skips is checked by nothing).
 */
export function forgetRecentWalks(): void {
  recentWalks.clear();
}

/** Note a walk of the directory at `abs` (its manifest is in the cache: not kept). */
function noteWalk(abs: string, hashed: DirHash, lease?: PlacementLease): void {
  recentWalks.set(abs, {
    hashed: { ...hashed, manifest: undefined },
    at: performance.now(),
    ...(lease !== undefined ? { lease } : {}),
  });
}

/** Files up to this size are read whole (one read) and hashed from memory. */
export const SMALL_FILE = 1 << 20;

/**
 * Open the file at `abs`, stat it, and read it whole when it is small (up to
 * {@link SMALL_FILE}): the files of a dataset directory are mostly small,
 * and one synchronous read costs a few µs where a streamed hash costs
 * several asynchronous operations. `bytes` is undefined for a large file,
 * and for one whose size changed while it was read: hash it as a stream.
 * With `viaLibc`, in four libc calls where libc can be used (lib/libc_fs.ts
 * `readSmall`: ~4× less of the calling thread, for the files of a large
 * directory, as binding libc costs ~2.5 ms once), else by Deno's calls.
 */
export function readSmallFile(
  abs: string,
  viaLibc = false,
): { stamp: FileStamp; bytes: Uint8Array | undefined } {
  if (viaLibc) {
    const read = readSmall(abs, SMALL_FILE);
    if (read !== undefined) {
      return { stamp: stampOfLibc(read), bytes: read.bytes };
    }
  }
  using file = Deno.openSync(abs, { read: true });
  const info = file.statSync();
  const stamp = stampOf(info);
  if (info.size > SMALL_FILE) return { stamp, bytes: undefined };
  // One byte more than the size, so a file that grew meanwhile is noticed.
  // A read shorter than asked is the end of a regular file: no second read
  // to see the end (one system call a file fewer; a read cut short for any
  // other reason leaves the size unmatched, and the file is streamed).
  const buffer = new Uint8Array(info.size + 1);
  let done = 0;
  while (done < buffer.length) {
    const asked = buffer.length - done;
    const n = file.readSync(buffer.subarray(done));
    if (n === null || n === 0) break;
    done += n;
    if (n < asked) break;
  }
  if (done !== info.size) return { stamp: stampOf(file.statSync()), bytes: undefined };
  return { stamp, bytes: buffer.subarray(0, done) };
}

/** The hash of the file at `abs`: read whole when small, else streamed. */
async function hashSmallOrStream(abs: string): Promise<Hash> {
  const { bytes } = readSmallFile(abs);
  return bytes !== undefined ? await hashBytes(bytes) : await hashFile(abs);
}

/** What the directory index records for a directory: `[dir, rel]`. */
interface DirIndex {
  /** Digest of every file's path and stamp, in order ("" while a file is racy). */
  readonly stamps: string;
  readonly hash: Hash;
  readonly files: number;
  readonly size: number;
  /** How many chunks of {@link FileRow}s `[dirFiles, rel, i]` hold. */
  readonly chunks: number;
}

/** One file of the per-directory index: path, mtime, size, inode, hash ("" = unknown). */
type FileRow = [string, number, number, number, string];

// Rows per KV value, and their estimated bytes ({@link rowBytes}): a value
// may hold at most 64 KiB, which 400 rows of 150-character paths exceed (a
// value too large is dropped by the store: its files would be read again).
const ROWS_PER_CHUNK = threshold(400, 12);
const CHUNK_BYTES = threshold(48 * 1024, 1_536);

interface StattedFile {
  readonly path: string;
  readonly stamp: FileStamp;
}

/**
 * Every file under `abs` with its stamp: one `stat` each, on two threads
 * for a large directory ({@link statMany}). A file removed since the
 * listing throws `NotFound`, as its `stat` did. `expected` is how many
 * files it held last time (the directory index's count): from
 * {@link PARALLEL_FROM} (where the helper is used anyway), the helper thread is
 * started before the listing, so that its start (10-30 ms idle, far more on a
 * loaded machine) overlaps the listing instead of delaying its share of
 * the `stat`s. From {@link LIBC_LISTING_FROM} expected files the listing
 * reads each directory through libc's `getdents64` (lib/libc_fs.ts).
 */
/**
 * The files a directory held last time from which its listing reads
 * through libc (lib/libc_fs.ts): binding libc costs ~2.5 ms once, and
 * each entry ~0.85 µs less than `Deno.readDirSync`'s.
 */
export const LIBC_LISTING_FROM = threshold(4_096, 128);

async function statFiles(abs: string, expected = 0): Promise<StattedFile[]> {
  const base = withSlash(abs);
  using helper = expected >= PARALLEL_FROM ? HelperThread.start() : undefined;
  const paths = listedAgain(abs) ?? listFilesNoted(abs, expected >= LIBC_LISTING_FROM);
  const stamps = await statMany(paths.map((path) => base + path), { helper });
  return paths.map((path, i) => ({
    path,
    stamp: stamps[i] ?? stampOf(Deno.statSync(base + path)),
  }));
}

async function hashDirectory(
  abs: string,
  rel: string,
  state: StateStore,
  cache: Cache | undefined,
): Promise<DirHash> {
  // Read before the stats: see isRacy.
  const clock = racyClock();
  const index = await state.get<DirIndex>([NS.dir, rel]);
  const files = await statFiles(abs, index?.files);
  // (Tests count these: a no-op stats a directory's files once, docs/performance.md.)
  mark(`walk of ${rel}/: ${files.length} files stat-ed`);
  const stamps = await stampsDigest(files);
  if (index?.stamps === stamps) {
    return {
      isDir: true,
      hash: index.hash,
      files: index.files,
      size: index.size,
      manifest: undefined,
      stamps,
    };
  }
  const again = await sameAsLastHash(abs, stamps);
  if (again !== undefined) return again;
  const known = await readRows(state, rel);
  const entries: ManifestEntry[] = new Array(files.length);
  const rows: FileRow[] = new Array(files.length);
  let settled = true;
  let size = 0;
  const racyFiles: { path: string; hash: Hash }[] = [];
  const base = withSlash(abs);
  const rowOf = known.sorted ? sortedLookup(known.sorted) : (path: string) => known.rows!.get(path);
  for (let i = 0; i < files.length; i++) {
    const { path, stamp } = files[i];
    const row = rowOf(path);
    const kept = row !== undefined && row[4] !== "" && row[1] === stamp.mtime &&
      row[2] === stamp.size && row[3] === stamp.ino;
    const hash = kept ? row[4] : await hashSmallOrStream(base + path);
    const racy = isRacy(stamp, clock);
    if (racy) {
      settled = false;
      if (racyFiles.length <= MAX_RACY_KEPT) racyFiles.push({ path, hash });
    }
    // An unchanged file keeps its row (the same array: writeRows then
    // compares a chunk by identity, row by row).
    rows[i] = kept && !racy ? row : [path, stamp.mtime, stamp.size, stamp.ino, racy ? "" : hash];
    entries[i] = { path, hash };
    size += stamp.size;
  }
  const manifest = { files: entries };
  const hash = cache ? await cache.storeManifest(manifest) : await hashManifest(manifest);
  const chunks = writeRows(state, rel, rows, index?.chunks ?? 0, known.chunks);
  if (cache !== undefined && racyFiles.length <= MAX_RACY_KEPT) {
    const result: DirHash = {
      isDir: true,
      hash,
      files: files.length,
      size,
      manifest: undefined,
      ...(settled ? { stamps } : {}),
    };
    lastHashes.set(abs, { stamps, racy: racyFiles, result });
  } else lastHashes.delete(abs);
  // With a file still racy, the digest could match a later version: no
  // digest then, and the next look re-reads only the racy files.
  state.defer(
    [NS.dir, rel],
    {
      stamps: settled ? stamps : "",
      hash,
      files: files.length,
      size,
      chunks,
    } satisfies DirIndex,
  );
  return {
    isDir: true,
    hash,
    files: files.length,
    size,
    manifest,
    ...(settled ? { stamps } : {}),
  };
}

/**
 * The last hash of each directory (by absolute path) that this process
 * computed file by file and whose manifest it stored in the cache: the
 * digest of the stamps it saw, and the files that were racy then with the
 * hashes read.
 */
const lastHashes = new Map<string, {
  readonly stamps: string;
  readonly racy: readonly { readonly path: string; readonly hash: Hash }[];
  readonly result: DirHash;
}>();

/**
 * The directory at `abs` hashed again with the stamps (`stamps`) of this
 * process's last hash of it: a stage's decision and the check under its
 * lock walk a changed directory one after the other, and the file just
 * edited is racy, so the index holds no digest for it. Every file but the
 * racy ones is proven by its stamp (as the index would); the racy ones are
 * read again, as the per-file index would have them read (their stamps
 * prove nothing), and the last hash holds when each reads as it did. Saves
 * loading the per-file index, building and storing the manifest and
 * comparing every chunk of rows again (0.3-0.5 s at 100,000 files).
 */
/**
 * Past this many racy files (a directory just written), the last hash is
 * not kept: checking it would read them all again, as the full hash does.
 */
const MAX_RACY_KEPT = 1_000;

async function sameAsLastHash(abs: string, stamps: string): Promise<DirHash | undefined> {
  const last = lastHashes.get(abs);
  if (last === undefined || last.stamps !== stamps) return undefined;
  const base = withSlash(abs);
  for (const { path, hash } of last.racy) {
    if (await hashSmallOrStream(base + path) !== hash) return undefined;
  }
  return last.result;
}

/**
 * The per-file index of a directory: the stored chunks by number, and its
 * rows in one list when they are sorted by path (as Pivot writes them: in
 * {@link listFiles} order), else by path.
 */
interface KnownRows {
  readonly chunks: Map<number, readonly FileRow[]>;
  readonly sorted?: readonly FileRow[];
  readonly rows?: Map<string, FileRow>;
}

async function readRows(state: StateStore, rel: string): Promise<KnownRows> {
  const chunks = new Map<number, readonly FileRow[]>();
  const loose: FileRow[] = [];
  for (const { key, value } of await state.list<FileRow[]>([NS.dirFiles, rel])) {
    if (typeof key[2] === "number") chunks.set(key[2], value);
    else loose.push(...value);
  }
  const sorted: FileRow[] = [];
  const numbers = [...chunks.keys()].sort((a, b) => a - b);
  for (const number of numbers) {
    for (const row of chunks.get(number)!) sorted.push(row);
  }
  if (loose.length === 0 && inRowOrder(sorted)) return { chunks, sorted };
  const rows = new Map<string, FileRow>();
  for (const row of sorted) rows.set(row[0], row);
  for (const row of loose) rows.set(row[0], row);
  return { chunks, rows };
}

function inRowOrder(rows: readonly FileRow[]): boolean {
  for (let i = 1; i < rows.length; i++) {
    if (rows[i - 1][0] >= rows[i][0]) return false;
  }
  return true;
}

/**
 * A lookup of rows sorted by path, for paths asked in increasing order (the
 * files of a walk): one merge of the two lists instead of a map of every
 * row (100,000 entries built, and collected, per changed directory).
 */
function sortedLookup(rows: readonly FileRow[]): (path: string) => FileRow | undefined {
  let at = 0;
  return (path) => {
    while (at < rows.length && rows[at][0] < path) at++;
    return at < rows.length && rows[at][0] === path ? rows[at] : undefined;
  };
}

function sameRows(a: readonly FileRow[], b: readonly FileRow[] | undefined): boolean {
  if (b === undefined || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i++) {
    const x = a[i];
    const y = b[i];
    if (x === y) continue;
    if (x[0] !== y[0] || x[1] !== y[1] || x[2] !== y[2] || x[3] !== y[3] || x[4] !== y[4]) {
      return false;
    }
  }
  return true;
}

/**
 * Write the per-file index of a directory; returns its number of chunks.
 * Chunks equal to those stored (`stored`, when loaded) are not written
 * again: one file changed in a 100,000-file directory rewrites one chunk of
 * 400 rows, not all 250.
 */
function writeRows(
  state: StateStore,
  rel: string,
  rows: readonly FileRow[],
  before: number,
  stored?: ReadonlyMap<number, readonly FileRow[]>,
): number {
  let chunks = 0;
  const write = (chunk: readonly FileRow[], bytes: number) => {
    if (!sameRows(chunk, stored?.get(chunks))) {
      state.defer([NS.dirFiles, rel, chunks], chunk, bytes);
    }
    chunks++;
  };
  let start = 0;
  let bytes = 0;
  for (let i = 0; i < rows.length; i++) {
    const size = rowBytes(rows[i]);
    if (i - start === ROWS_PER_CHUNK || (i > start && bytes + size > CHUNK_BYTES)) {
      write(rows.slice(start, i), bytes);
      [start, bytes] = [i, 0];
    }
    bytes += size;
  }
  if (start < rows.length) write(rows.slice(start), bytes);
  // Chunks past the new end (the directory shrank) would add stale rows.
  for (let i = chunks; i < before; i++) state.defer([NS.dirFiles, rel, i], []);
  return chunks;
}

/**
 * About the serialised size of a row, a little over: its path's UTF-16
 * units (a one-byte string serialises one byte each; two for others, which
 * `* 2` covers) and three numbers, a hash and framing.
 */
function rowBytes(row: FileRow): number {
  return row[0].length * 2 + 64;
}

/** A file of a directory Pivot has just written: its path in it, content hash and stamp. */
export interface PlacedFile {
  readonly path: string;
  readonly hash: Hash;
  readonly stamp: FileStamp;
}

/**
 * Remember the hashes of a directory Pivot has just written at `abs`
 * (project-relative `rel`), whose files (in {@link listFiles} order) and
 * their stamps the caller knows (it wrote or read each), so the next look
 * costs one lookup and no file is stat-ed twice; the caller must have stored
 * the manifest in the cache. Its files are fresh, but their content is
 * known: they are recorded as settled. `digest`, when the caller has it, is
 * `stampsDigest` (lib/dir_walk.ts) of `files` in the order given. With
 * `lease` (the lock it was placed under, still held), a reader's decision
 * may take this hash instead of a walk while the lease lasts
 * ({@link DirHash.vouched}).
 */
export async function rememberDirectory(
  abs: string,
  rel: string,
  files: readonly PlacedFile[],
  hash: Hash,
  state: StateStore,
  digest?: string,
  lease?: PlacementLease,
): Promise<void> {
  if (!inListOrder(files)) {
    files = [...files].sort((a, b) => comparePaths(a.path, b.path));
    digest = undefined; // of the files in the order given
  }
  const size = files.reduce((total, f) => total + f.stamp.size, 0);
  const stamps = digest ?? await stampsDigest(files);
  // With the placed stamps' digest, as a walk's: a skip decided on it
  // records them in the verified index, and an edit since is seen next time.
  noteWalk(
    abs,
    { isDir: true, hash, files: files.length, size, manifest: undefined, stamps },
    lease,
  );
  const index = await state.get<DirIndex>([NS.dir, rel]);
  // The same files with the same stamps as recorded (a hard-linked tree
  // placed again after `rm -r`): the rows are those stored, nothing to
  // write, and none is made (10,000 arrays for 10,000 files).
  if (index?.stamps === stamps && index.hash === hash && index.files === files.length) return;
  const rows: FileRow[] = files.map(({ path, stamp, hash }) => [
    path,
    stamp.mtime,
    stamp.size,
    stamp.ino,
    hash,
  ]);
  const chunks = writeRows(state, rel, rows, index?.chunks ?? 0);
  state.defer(
    [NS.dir, rel],
    { stamps, hash, files: files.length, size, chunks } satisfies DirIndex,
  );
}

/**
 * True when the directory index records the directory at `rel` as `hash`,
 * settled, with exactly `files` (in {@link listFiles} order) and these
 * stamps. For a checkout in `hardlink` or `symlink` mode, `files` are the
 * manifest's paths with the stamps of their objects: the index then says
 * that the inodes with these stamps held this manifest's content when it
 * was recorded (the tree Pivot last placed or hashed there was these very
 * objects), so every object is intact, as far as a stamp can tell, without
 * looking up each object's own stamp (one KV entry per object).
 */
export async function indexHolds(
  state: StateStore,
  rel: string,
  hash: Hash,
  files: readonly { readonly path: string; readonly stamp: FileStamp }[],
  digest?: string,
): Promise<boolean> {
  const index = await state.get<DirIndex>([NS.dir, rel]);
  return index !== undefined && index.hash === hash && index.stamps !== "" &&
    index.files === files.length && index.stamps === (digest ?? await stampsDigest(files));
}

/**
 * True when the objects of the directory manifest `hash` (`objects`: each
 * one's hash and stamp, in manifest order) were last checked intact with
 * exactly these stamps ({@link rememberObjectsIntact}): then each is intact,
 * as far as a stamp can tell, as {@link Cache.verify} would say, for one KV
 * read and one digest instead of one stamp looked up per object. An object
 * written in place since has another stamp: the digest differs, and the
 * caller checks each object.
 */
export async function objectsIntact(
  state: StateStore,
  hash: Hash,
  objects: readonly { readonly hash: Hash; readonly stamp: FileStamp }[],
): Promise<boolean> {
  const known = await state.get<string>([NS.dirObjects, hash]);
  return known !== undefined && known === await objectsDigest(objects);
}

/** Record that the objects of the manifest `hash` were checked intact with these stamps. */
export async function rememberObjectsIntact(
  state: StateStore,
  hash: Hash,
  objects: readonly { readonly hash: Hash; readonly stamp: FileStamp }[],
): Promise<void> {
  state.defer([NS.dirObjects, hash], await objectsDigest(objects));
}

function objectsDigest(
  objects: readonly { readonly hash: Hash; readonly stamp: FileStamp }[],
): Promise<string> {
  return stampsDigest(objects.map(({ hash, stamp }) => ({ path: hash, stamp })));
}

/**
 * The manifest of a directory hashed by {@link hashArtifact}: the one it
 * computed, else the cache object; undefined when neither is there.
 */
export async function dirManifest(
  hashed: DirHash,
  cache: Cache,
): Promise<DirManifest | undefined> {
  return hashed.manifest ?? await cache.readManifest(hashed.hash);
}

/**
 * {@link listFiles} of `abs` (read through libc when `large`), noting the
 * stamp of each directory listed
 * (stat-ed before it is read) for {@link listedAgain}; not noted when a
 * symlink was followed (what changes behind it changes no stamp here) or a
 * directory's stamp is racy (see {@link isRacy}: an entry added within its
 * clock tick would keep its stamp).
 */
function listFilesNoted(abs: string, large = false): string[] {
  const dirs: { path: string; stamp: FileStamp }[] = [];
  const clock = racyClock();
  let noted = true;
  const base = withSlash(abs);
  const paths = listFiles(abs, undefined, (rel, info) => {
    if (info === undefined) noted = false;
    else {
      const stamp = stampOf(info);
      if (isRacy(stamp, clock)) noted = false;
      dirs.push({ path: rel === "" ? abs : base + rel, stamp });
    }
  }, large ? readDirEntries : undefined);
  noteListing(abs, noted ? { paths, dirs } : undefined);
  return paths;
}

/** The files of the last listing of `abs` when it still holds (lib/dir_walk.ts, `listingHolds`). */
function listedAgain(abs: string): readonly string[] | undefined {
  const last = notedListing(abs);
  return last !== undefined && listingHolds(last) ? last.paths : undefined;
}

/** The order of {@link listFiles}: by UTF-16 code units. */
function comparePaths(a: string, b: string): number {
  return a < b ? -1 : a > b ? 1 : 0;
}

function inListOrder(files: readonly { readonly path: string }[]): boolean {
  for (let i = 1; i < files.length; i++) {
    if (files[i - 1].path >= files[i].path) return false;
  }
  return true;
}
