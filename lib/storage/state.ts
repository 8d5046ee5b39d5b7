/**
 * Local state in Deno KV under `.pivot/state/`: the file-hash cache, the run
 * cache, cached lock-file parses and fingerprint analyses. Nothing here is
 * truth: every entry can be recomputed, so losing the store costs time only.
 *
 * Two `pivot` processes may open the store at once (SQLite serialises their
 * writes); entries are self-validating (keyed by content or checked against
 * `stat`), so the last writer winning is always safe.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import { messageOf } from "../errors.ts";
import { needChild } from "../launcher_attempt.ts";
import { statOrUndefined } from "../paths.ts";
import type { StatStamp } from "../libc_fs.ts";
import { threshold } from "../test_thresholds.ts";

/** KV key namespaces, one per kind of entry. */
export const NS = {
  /** File hashes: `[file, relPath]` → {@link FileStamp} and hash. */
  file: "file",
  /** Run cache: `[run, stageKey, inputHash]` → outs of that run. */
  run: "run",
  /** Parsed lock files: `[lock, relPath]` → stamp and parsed content. */
  lock: "lock",
  /** Other parsed files (`params.yaml`): `[parsed, relPath]` → stamp and content. */
  parsed: "parsed",
  /** Fingerprint analyses and module graphs. */
  fingerprint: "fp",
  /**
   * What is known of remotes (lib/remote/): `[remote, remoteId, …]`, e.g. the
   * objects known to exist there and multipart uploads that may be resumed.
   */
  remote: "remote",
  /** What each stage printed in its last run: `[log, stageName]` → lines. */
  log: "log",
  /**
   * The verified index (lib/engine/verified.ts): `[verified, n]` → chunk `n`
   * of the stamps every path of each up-to-date stage had when last verified.
   */
  verified: "verified",
  /** Directory index: `[dir, relPath]` → digest of its files' stamps, its hash, count, size. */
  dir: "dir",
  /** Per-file index of a directory: `[dirFiles, relPath, chunk]` → rows of path, stamp, hash. */
  dirFiles: "dirFiles",
  /**
   * Stamps of cache objects: `[object, hash]` → {@link FileStamp} and hash,
   * apart from workspace files' entries, which every no-op loads: a
   * 100,000-file out directory adds 100,000 objects.
   */
  object: "object",
  /**
   * Objects of a directory manifest, checked intact together:
   * `[dirObjects, manifestHash]` → a digest of every object's hash and
   * stamp, in manifest order, so a checkout of that directory compares one
   * digest instead of looking up one stamp per object.
   */
  dirObjects: "dirObjects",
  /**
   * Stamps of a large directory's objects, in chunks:
   * `[objectChunk, manifestHash, n]` → {@link ObjectChunk}, the `n`th run of
   * (up to {@link CHUNK_STAMPS}) objects of that manifest, in manifest order.
   * What {@link NS.object} holds for one object, for a thousand in one value:
   * a 100,000-file out's stamps are ~100 values, not 100,000 entries (each
   * entry cost ~20 µs to commit, value size hardly mattering).
   */
  objectChunk: "objectChunk",
} as const;

/**
 * A chunk of object stamps ({@link NS.objectChunk}): `hashes[i]`'s object
 * had `stamps[3i]` (mtime), `stamps[3i + 1]` (size) and `stamps[3i + 2]`
 * (inode) when last known intact.
 */
export interface ObjectChunk {
  /** The objects' hashes. */
  readonly hashes: readonly string[];
  /** Three numbers per object (a typed array: copied whole in and out of KV). */
  readonly stamps: Float64Array;
}

/**
 * Objects to a chunk of {@link NS.objectChunk} at most: 1,000 stamps of
 * 16-hex hashes serialise to ~42 KB, under KV's 64 KiB a value (a chunk is
 * also cut short by {@link CHUNK_BYTES}, for longer hashes).
 */
export const CHUNK_STAMPS = threshold(1_000, 32);
// Estimated serialised bytes of one chunk's value at most.
const CHUNK_BYTES = threshold(48_000, 1_500);

/**
 * Files of a directory from which its objects' stamps are remembered in
 * chunks for its manifest ({@link NS.objectChunk}) instead of an entry each
 * ({@link NS.object}): one chunk's worth. An entry cost ~20 µs to commit
 * whatever its size: at 100,000 files ~1.2 s of a first run's close
 * (docs/performance.md, "Object stamps in chunks by manifest"). A run's
 * directory out, and the objects a fetch downloads for a directory.
 */
export const CHUNKED_FROM = CHUNK_STAMPS;

/** What identifies a file version without reading it. */
export interface FileStamp {
  /** Modification time, ms since the epoch. */
  readonly mtime: number;
  /** Size in bytes. */
  readonly size: number;
  /** Inode number. */
  readonly ino: number;
}

/**
 * The name of the clock marker in the state directory (see {@link markClock}).
 */
export const CLOCK_FILE = "clock";

/**
 * This process's clock marker (see {@link markClock}): the mtime the
 * filesystem gave the marker file when last written, and that file's device
 * (the first marker's: a marker on another device is not taken, the last one
 * holds, older but still sound).
 */
let marker: { readonly mtime: number; readonly dev: number } | undefined;

/**
 * Stamps taken by {@link stampOf} (or {@link stampOfDevice}) of files on
 * another device than the marker's: judged by the wall clock (another
 * filesystem may round times differently, or take them from another clock).
 * Rare, so the common stamp costs one comparison, not an entry here.
 */
const foreign = new WeakSet<FileStamp>();

/**
 * Write this process's clock marker: a small file in `stateDir` whose mtime,
 * read back, is "now" on the filesystem's own clock. Any file written after
 * this moment gets an mtime at or after it (the same kernel clock, never
 * going back, rounded the same way), so a file stat-ed later whose mtime is
 * strictly before it cannot be rewritten without its stamp changing: its
 * hash may be remembered (git's rule for racily clean index entries, with
 * the index file's mtime as the marker). Called when the state store opens,
 * and again at each later wave (watch mode runs for hours). A failure leaves
 * the last marker (older: still sound) or none (the wall-clock rule).
 * docs/performance.md, "Racy files: the filesystem's clock instead of a 2 s
 * window".
 */
export function markClock(stateDir: string): void {
  const path = join(stateDir, CLOCK_FILE);
  try {
    Deno.writeTextFileSync(path, `${Deno.pid}\n`);
    const info = Deno.statSync(path);
    if (info.mtime === null || (marker !== undefined && info.dev !== marker.dev)) return;
    marker = { mtime: info.mtime.getTime(), dev: info.dev };
  } catch {
    // Read-only state, say: the last marker holds, or the wall clock decides.
  }
}

/** What {@link isRacy} judges stamps by: read with {@link racyClock} before the stats. */
export interface RacyClock {
  /** `Date.now()`, for stamps no marker judges. */
  readonly wall: number;
  /** The clock marker's mtime, if one was written. */
  readonly marker: number | undefined;
}

/**
 * The clock to judge stamps by, read before the stats it judges: the marker
 * must have been written before the stat, so a stamp is never judged by a
 * marker written after it was taken (a later wave's).
 */
export function racyClock(): RacyClock {
  return { wall: Date.now(), marker: marker?.mtime };
}

/** The stamp of `info`, from `Deno.stat`/`lstat`. */
export function stampOf(info: Deno.FileInfo): FileStamp {
  const stamp = { mtime: info.mtime?.getTime() ?? 0, size: info.size, ino: info.ino ?? 0 };
  if (marker !== undefined && info.dev !== marker.dev) foreign.add(stamp);
  return stamp;
}

/** {@link stampOf} of a stat another thread made (lib/storage/stat_many.ts). */
export function stampOfDevice(mtime: number, size: number, ino: number, dev: number): FileStamp {
  const stamp = { mtime, size, ino };
  if (marker !== undefined && dev !== marker.dev) foreign.add(stamp);
  return stamp;
}

/** {@link stampOf} of a stat libc answered (lib/libc_fs.ts `statStamp`, `readSmall`). */
export function stampOfLibc(stat: StatStamp): FileStamp {
  return stampOfDevice(stat.mtime, stat.size, stat.ino, stat.dev);
}

/**
 * The wall-clock margin for stamps no clock marker judges (see
 * {@link isRacy}): a file rewritten with the same size within one tick of
 * the filesystem's clock keeps its stamp, so a hash read from a file this
 * fresh is used but not remembered. Two seconds: the coarsest clock among
 * common filesystems (FAT and exFAT keep mtimes to 2 s; ext4 and tmpfs tick
 * every few ms, HFS+ every second).
 */
export const RACY_MS = 2_000;

/**
 * True when a file with `stamp` was modified too recently to remember its
 * hash: a rewrite with the same size could keep its stamp. With a clock
 * marker (see {@link markClock}), racy unless its mtime is strictly before
 * the marker's (equal ms is racy: ms are floored, a later write may floor to
 * the same ms). A stamp of another device, or with no marker, is racy when
 * modified within {@link RACY_MS} of the wall clock. A future mtime is racy
 * either way. `clock` must be read before the stat that gave `stamp`.
 */
export function isRacy(stamp: FileStamp, clock: RacyClock): boolean {
  if (clock.marker !== undefined && !foreign.has(stamp)) return stamp.mtime >= clock.marker;
  return clock.wall - stamp.mtime <= RACY_MS;
}

/** True when two stamps describe the same file version. */
export function sameStamp(a: FileStamp, b: FileStamp): boolean {
  return a.mtime === b.mtime && a.size === b.size && a.ino === b.ino;
}

interface FileEntry extends FileStamp {
  readonly hash: string;
}

/** Point reads of one namespace after which {@link StateStore.getInRange} loads it whole. */
export const RANGE_AFTER = 64;

// Deno KV allows at most 1000 mutations and 800 KB in one atomic commit.
const MUTATIONS = 1000;
// Estimated bytes of values in one commit (see StateStore.defer), below 800 KB.
const BATCH_BYTES = 600_000;
// A value queued with no estimate counts as this much: at most 200 in one
// commit (a parsed lock file may be tens of KB; KV rejects a commit too
// large, which is then split in halves, each try serialising anew).
const UNSIZED_BYTES = BATCH_BYTES / 200;
// A stamp entry (`StateStore.#remember`: mtime, size, inode and hash) with
// its key, serialised, at most, besides the name in the key: a 100,000-file
// out's objects go 1,000 to a commit, not 200 (each commit is a SQLite
// transaction with its syncs).
const STAMP_BYTES = 250;
/**
 * Object stamps held while streaming before a sorted run of them goes to
 * commits (`StateStore.#writeHeld`): 100,000 random hashes into a new store
 * took 6.9–8.0 s (4.0–4.9 s of CPU) in commits of 1,000 in arrival order,
 * 1.8–2.2 s (1.5–1.9 s) sorted all at once, 2.0–2.5 s (1.7–1.8 s) sorted
 * 20,000 at a time, 2.9–3.5 s sorted 5,000 at a time. A held stamp costs
 * a slot of an array (its entry is known already).
 */
export const SORTED_RUN = 20_000;
// Commits of one sorted run in flight at once (StateStore.#commitRun): with
// the main thread busy in 50 ms slices, 20 commits of 1,000 took 2.5 s one
// at a time (2.3 turns of the event loop each), 1.1 s four at a time.
const RUN_COMMITS = 4;

/** The state store of one project. Open with {@link StateStore.open}; close when done. */
export class StateStore {
  readonly #kv: Deno.Kv;
  readonly #entries = new Map<string, Promise<Map<string, FileEntry>>>();
  /** Those of {@link #entries} loaded by now. */
  readonly #loaded = new Map<string, Map<string, FileEntry>>();
  readonly #known = new Map<string, Map<string, FileEntry | null>>();
  readonly #pending = new Map<string, { key: Deno.KvKey; value: unknown; bytes?: number }>();
  /**
   * Writes a {@link flush} has handed to a commit that has not ended: what
   * {@link get} answers for them meanwhile (a read of KV may not see them
   * yet). An entry leaves when its commit ends, unless written again since.
   */
  readonly #committing = new Map<string, { key: Deno.KvKey; value: unknown }>();
  readonly #preloaded = new Map<string, unknown>();
  readonly #preloadedPrefixes = new Set<string>();
  readonly #preloading = new Map<string, Promise<void>>();
  /** The first listing of each prefix {@link getInSmall} read, and those found too large to keep. */
  readonly #smallLoads = new Map<string, Promise<void>>();
  readonly #notSmall = new Set<string>();
  readonly #pointReads = new Map<string, number>();
  /**
   * Names (hashes) of the object stamps remembered while streaming
   * ({@link streamObjectStamps}), not yet handed to a commit: their entries
   * are those of {@link #known}, so a held stamp costs a slot here, not an
   * entry of its own.
   */
  #held: string[] = [];
  #streaming = false;
  /**
   * Chunks of object stamps ({@link NS.objectChunk}) read from KV, and
   * those remembered by this process, not yet in {@link #chunkIndex}.
   */
  readonly #chunksRead: ObjectChunk[] = [];
  readonly #chunksHere: ObjectChunk[] = [];
  /** Per manifest, the number after the last chunk of stamps remembered by this process. */
  readonly #chunksNext = new Map<string, number>();
  /**
   * The chunks indexed, and each object's slot in them (chunk number ×
   * {@link CHUNK_SLOTS} + place): a number a stamp, not an object; the
   * manifests whose chunks were loaded; `all`, the load of every chunk,
   * once begun.
   */
  readonly #chunkIndex: {
    readonly chunks: ObjectChunk[];
    readonly map: Map<string, number>;
    readonly manifests: Set<string>;
    all?: Promise<void>;
  } = { chunks: [], map: new Map(), manifests: new Set() };
  /** Commits of streamed object stamps, one after another, and the first one's failure. */
  #writing: Promise<void> = Promise.resolve();
  #writeError: { error: unknown } | undefined;

  /** True until the first {@link markClock} after the marker written on opening. */
  #clockFresh = true;

  /** Where the store lives and whom to tell when it is set aside (from {@link StateStore.open}). */
  #place: { readonly stateDir: string; readonly onReset?: (message: string) => void } | undefined;

  private constructor(kv: Deno.Kv) {
    this.#kv = kv;
  }

  /**
   * Open (creating) the store in `stateDir`. A store SQLite finds damaged
   * (a truncated or overwritten file) is set aside (see
   * {@link setAsideState}) and a new one is started, with one line through
   * `onReset`: the store is a cache, so this costs time only.
   */
  static async open(
    stateDir: string,
    options: { readonly onReset?: (message: string) => void } = {},
  ): Promise<StateStore> {
    await Deno.mkdir(stateDir, { recursive: true });
    const file = join(stateDir, STATE_FILE);
    const inode = () => statOrUndefined(file)?.ino;
    const before = inode();
    let store: StateStore;
    try {
      store = new StateStore(await openWhenFree(file));
    } catch (error) {
      if (!isCorruptStateError(error)) throw error;
      // In the launcher's own process, its child sets it aside and says so.
      needChild("the state store is damaged");
      // Another process may have set it aside and started a new one meanwhile.
      if (inode() === before) {
        const aside = setAsideState(stateDir);
        options.onReset?.(
          `the state store ${file} was damaged (${
            messageOf(error)
          }): moved it to ${aside} and started a new one (it is a cache: file hashes are read again)`,
        );
      }
      store = new StateStore(await openWhenFree(file));
    }
    store.#place = { stateDir, onReset: options.onReset };
    markClock(stateDir);
    return store;
  }

  /**
   * Write the clock marker again (see {@link markClock}), at the start of a
   * wave: not for the first, which the marker written on opening serves.
   */
  markClock(): void {
    if (this.#clockFresh) this.#clockFresh = false;
    else if (this.#place !== undefined) markClock(this.#place.stateDir);
  }

  /** The raw KV handle, for subsystems with their own key layout. */
  get kv(): Deno.Kv {
    return this.#kv;
  }

  /**
   * The cached hash of a file at `relPath` if its stamp is unchanged. The
   * first few are point reads; past {@link RANGE_AFTER} of them every file
   * entry is loaded at once (one KV range read is ~20× faster than point
   * reads), so that a command that hashes a few files (a no-op answered by
   * the verified index) does not load an entry per file of the project.
   */
  async cachedFileHash(relPath: string, stamp: FileStamp): Promise<string | undefined> {
    const entry = await this.#entryOf(NS.file, relPath);
    return entry && sameStamp(entry, stamp) ? entry.hash : undefined;
  }

  /** Remember the hash of a file version (written on {@link flush}). */
  rememberFileHash(relPath: string, stamp: FileStamp, hash: string): Promise<void> {
    this.#remember(NS.file, relPath, stamp, hash);
    return Promise.resolve();
  }

  /**
   * As {@link rememberFileHash}, for a caller that cannot wait: the verified
   * index's check of a touched file whose hash the launcher read
   * (lib/engine/verified.ts).
   */
  noteFileHash(relPath: string, stamp: FileStamp, hash: string): void {
    this.#remember(NS.file, relPath, stamp, hash);
  }

  /**
   * The remembered stamp of the cache object `hash` (see {@link NS.object});
   * read as file entries are (see {@link cachedFileHash}); else its stamp
   * in a chunk of a large directory's ({@link objectChunkStamp}).
   */
  async objectStamp(hash: string): Promise<FileStamp | undefined> {
    const entry = await this.#entryOf(NS.object, hash);
    return entry?.hash === hash
      ? { mtime: entry.mtime, size: entry.size, ino: entry.ino }
      : await this.objectChunkStamp(hash);
  }

  /**
   * True when `stamp` is a stamp the cache object `hash` was remembered
   * intact with: its own entry's ({@link NS.object}) or its stamp in a chunk
   * ({@link NS.objectChunk}). Each record was true when written (an object
   * is remembered once in place, with the stamp it had then), so an object
   * with either stamp still holds that content, as far as a stamp can tell;
   * one written in place since has another stamp.
   */
  async objectKnownAs(hash: string, stamp: FileStamp): Promise<boolean> {
    // A chunk's stamp known here already answers without a read.
    const here = this.#indexedStamp(hash);
    if (here !== undefined && sameStamp(here, stamp)) return true;
    const entry = await this.#entryOf(NS.object, hash);
    if (entry?.hash === hash && sameStamp(entry, stamp)) return true;
    const chunked = await this.objectChunkStamp(hash);
    return chunked !== undefined && sameStamp(chunked, stamp);
  }

  /**
   * Remember the stamps of the objects of the directory manifest
   * `manifest`: `stamps[i]` is that of the object `hashes[i]` (every one in
   * place and intact), in chunks ({@link NS.objectChunk}, written on
   * {@link flush}; none with `--no-commit`, {@link discardPending}) and
   * answered in this process at once. For a large directory, whose objects
   * are then not remembered one by one ({@link rememberObject}).
   */
  rememberObjectChunks(
    manifest: string,
    hashes: readonly string[],
    stamps: readonly FileStamp[],
  ): void {
    this.#rememberChunks(manifest, hashes, stamps, 0);
  }

  /**
   * {@link rememberObjectChunks} for some of the manifest `manifest`'s
   * objects (a fetch's downloads: the others were there already), in chunks
   * numbered after those stored or remembered here for it, which stay: the
   * stamps of its other objects are not overwritten. Each record was true
   * when written, so an object in two chunks matches either
   * ({@link objectKnownAs}).
   */
  async addObjectChunks(
    manifest: string,
    hashes: readonly string[],
    stamps: readonly FileStamp[],
  ): Promise<void> {
    if (hashes.length === 0) return;
    let first = this.#chunksNext.get(manifest) ?? 0;
    for await (const { key } of this.#kv.list({ prefix: [NS.objectChunk, manifest] })) {
      const n = key[2];
      if (typeof n === "number" && n >= first) first = n + 1;
    }
    this.#rememberChunks(manifest, hashes, stamps, first);
  }

  #rememberChunks(
    manifest: string,
    hashes: readonly string[],
    stamps: readonly FileStamp[],
    first: number,
  ): void {
    let n = first;
    let start = 0;
    let bytes = 0;
    const write = (end: number) => {
      const chunk = chunkOf(hashes, stamps, start, end);
      this.defer([NS.objectChunk, manifest, n++], chunk, bytes);
      this.#chunksHere.push(chunk);
      [start, bytes] = [end, 0];
    };
    for (let i = 0; i < hashes.length; i++) {
      const size = hashes[i].length + 3 + 24;
      if (i - start === CHUNK_STAMPS || (i > start && bytes + size > CHUNK_BYTES)) write(i);
      bytes += size;
    }
    if (start < hashes.length) write(hashes.length);
    this.#chunksNext.set(manifest, Math.max(n, this.#chunksNext.get(manifest) ?? 0));
  }

  /**
   * Load the chunked stamps of the manifest `manifest`'s objects
   * ({@link NS.objectChunk}), for a caller about to check its objects one by
   * one: one range read of that manifest's chunks, so that no object of it
   * costs the load of every chunk ({@link objectChunkStamp}).
   */
  async loadObjectChunks(manifest: string): Promise<void> {
    const index = this.#chunkIndex;
    if (index.all !== undefined || index.manifests.has(manifest)) return;
    index.manifests.add(manifest);
    for await (
      const item of this.#kv.list<ObjectChunk>({ prefix: [NS.objectChunk, manifest] })
    ) this.#chunksRead.push(item.value);
  }

  /**
   * The stamp of the cache object `hash` in a chunk of a large directory's
   * ({@link NS.objectChunk}): remembered by this process, loaded by
   * {@link loadObjectChunks}, else from every chunk, loaded once (~35 ms a
   * 100,000 stamps) at the first object looked for in none of those.
   */
  async objectChunkStamp(hash: string): Promise<FileStamp | undefined> {
    const here = this.#indexedStamp(hash);
    if (here !== undefined) return here;
    const index = this.#chunkIndex;
    index.all ??= (async () => {
      for await (const item of this.#kv.list<ObjectChunk>({ prefix: [NS.objectChunk] })) {
        this.#chunksRead.push(item.value);
      }
    })();
    await index.all;
    return this.#indexedStamp(hash);
  }

  /** The stamp of the object `hash` in the chunks read or remembered so far. */
  #indexedStamp(hash: string): FileStamp | undefined {
    this.#indexChunks();
    const index = this.#chunkIndex;
    const at = index.map.get(hash);
    if (at === undefined) return undefined;
    const stamps = index.chunks[Math.floor(at / CHUNK_SLOTS)].stamps;
    const i = 3 * (at % CHUNK_SLOTS);
    return { mtime: stamps[i], size: stamps[i + 1], ino: stamps[i + 2] };
  }

  /** Index the chunks read, then those remembered here (newer: they win). */
  #indexChunks(): void {
    const index = this.#chunkIndex;
    for (const from of [this.#chunksRead, this.#chunksHere]) {
      for (const chunk of from) {
        if (!wellFormed(chunk)) continue; // not as this version writes them: unknown stamps
        const base = index.chunks.length * CHUNK_SLOTS;
        index.chunks.push(chunk);
        for (let i = 0; i < chunk.hashes.length; i++) index.map.set(chunk.hashes[i], base + i);
      }
      from.length = 0;
    }
  }

  /** Remember the stamp of the cache object `hash`, known to be intact (written on {@link flush}). */
  rememberObject(hash: string, stamp: FileStamp): Promise<void> {
    this.#remember(NS.object, hash, stamp, hash);
    return Promise.resolve();
  }

  #remember(ns: string, name: string, stamp: FileStamp, hash: string): void {
    const entry: FileEntry = { mtime: stamp.mtime, size: stamp.size, ino: stamp.ino, hash };
    // The same entry is not written again when this process knows it, but
    // it is not read from KV to find out: a stage's new out (a new stamp)
    // waited on a point read before its run was recorded, on a chain's path.
    const known = this.#knownOf(ns);
    const old = known.has(name) ? known.get(name) : this.#loaded.get(ns)?.get(name);
    if (old && old.hash === hash && sameStamp(old, stamp)) return;
    known.set(name, entry);
    if (ns === NS.object && this.#streaming) this.#hold(name);
    else this.defer([ns, name], entry, STAMP_BYTES + name.length);
  }

  /**
   * From now on, commit object stamps ({@link rememberObject}) as they are
   * remembered, in runs of {@link SORTED_RUN} sorted by hash, instead of
   * holding them as queued writes to the next {@link flush}: a
   * 100,000-file out's commit queued 100,000 entries (~200 bytes of heap
   * each, and the flush's own copies on top), the peak of its run
   * (docs/performance.md, "Peak memory of a 100,000-file out"). A run holds
   * only the names; the entries are those this process knows already. Sorted,
   * because hashes are random: a thousand of them in arrival order touch
   * ~800 pages of a growing table a commit, sorted ones few
   * (docs/performance.md, "Object stamps in sorted runs"). An object's stamp
   * is remembered once the object is in place, so each entry is true when
   * written, whatever happens to the run after. For a run that commits: a
   * `--no-commit` run writes no state ({@link discardPending}).
   */
  streamObjectStamps(): void {
    this.#streaming = true;
  }

  #hold(name: string): void {
    // A write of this key queued earlier must not land after this one.
    if (this.#pending.size > 0) this.#pending.delete(keyId([NS.object, name]));
    this.#held.push(name);
    if (this.#held.length >= SORTED_RUN) this.#writeHeld();
  }

  /**
   * Hand the held object stamps, sorted by hash (KV's order for these keys),
   * to commits after those before (see {@link #commitRun}).
   */
  #writeHeld(): Promise<void> {
    if (this.#held.length === 0) return this.#writing;
    const names = this.#held.sort();
    this.#held = [];
    this.#writing = this.#writing.then(() => this.#commitRun(names)).catch((error) => {
      this.#writeError ??= { error };
    });
    return this.#writing;
  }

  /**
   * Commit a sorted run of held object stamps, a thousand a commit, each
   * commit's entries read from what this process knows when it is made (the
   * newest stamp of each object; a hash held twice is written once), with
   * {@link RUN_COMMITS} of them in flight: their keys differ, so their order
   * does not matter, and beside a busy main thread (a large out's store,
   * which lets the event loop turn every 50 ms) each commit waited for turns
   * of its own.
   */
  async #commitRun(names: readonly string[]): Promise<void> {
    const known = this.#knownOf(NS.object);
    const inFlight: Promise<void>[] = [];
    let failure: { error: unknown } | undefined;
    for (let start = 0; start < names.length && failure === undefined; start += MUTATIONS) {
      const writes: { key: Deno.KvKey; value: unknown }[] = [];
      for (let n = start; n < Math.min(start + MUTATIONS, names.length); n++) {
        const name = names[n];
        const entry = known.get(name);
        if (entry && (n === 0 || names[n - 1] !== name)) {
          writes.push({ key: [NS.object, name], value: entry });
        }
      }
      inFlight.push(
        this.#commit(writes).catch((error) => {
          failure ??= { error };
        }),
      );
      if (inFlight.length === RUN_COMMITS) await inFlight.shift();
    }
    await Promise.all(inFlight);
    if (failure !== undefined) throw failure.error;
  }

  /**
   * The entry `name` of a namespace of stamps: what this process read or
   * remembered, else from the whole namespace once loaded, else by a point
   * read; past {@link RANGE_AFTER} point reads the namespace is loaded whole
   * (concurrent first callers share the load).
   */
  async #entryOf(ns: string, name: string): Promise<FileEntry | undefined> {
    const known = this.#knownOf(ns);
    if (known.has(name)) return known.get(name) ?? undefined;
    let all = this.#entries.get(ns);
    if (all === undefined) {
      const reads = (this.#pointReads.get(ns) ?? 0) + 1;
      this.#pointReads.set(ns, reads);
      if (reads <= RANGE_AFTER) {
        const entry = (await this.#kv.get<FileEntry>([ns, name])).value ?? undefined;
        // A remember made meanwhile is newer.
        if (!known.has(name)) known.set(name, entry ?? null);
        return known.get(name) ?? undefined;
      }
      all = (async () => {
        const entries = new Map<string, FileEntry>();
        for await (const item of this.#kv.list<FileEntry>({ prefix: [ns] }, { batchSize: 1000 })) {
          entries.set(item.key[1] as string, item.value);
        }
        this.#loaded.set(ns, entries);
        return entries;
      })();
      this.#entries.set(ns, all);
    }
    const entries = await all;
    return known.has(name) ? known.get(name) ?? undefined : entries.get(name);
  }

  /** Entries of `ns` this process read by point or remembered (null: none there). */
  #knownOf(ns: string): Map<string, FileEntry | null> {
    let known = this.#known.get(ns);
    if (known === undefined) {
      known = new Map();
      this.#known.set(ns, known);
    }
    return known;
  }

  /**
   * Load every entry under `prefix` into memory with one range read, so that
   * later {@link get}s of those keys cost nothing (concurrent callers share
   * the read).
   */
  preload(prefix: Deno.KvKey): Promise<void> {
    const id = keyId(prefix);
    if (this.#preloadedPrefixes.has(id)) return Promise.resolve();
    let loading = this.#preloading.get(id);
    if (loading === undefined) {
      loading = (async () => {
        for await (const item of this.#kv.list({ prefix }, { batchSize: 1000 })) {
          // A write made meanwhile (or in a commit not ended) is newer than what the range read found.
          const key = keyId(item.key);
          if (!this.#preloaded.has(key) && !this.#committing.has(key)) {
            this.#preloaded.set(key, item.value);
          }
        }
        this.#preloadedPrefixes.add(id);
      })();
      this.#preloading.set(id, loading);
    }
    return loading;
  }

  /**
   * Read one entry under `prefix`, a namespace read one key at a time and
   * often empty (the run cache in a project's first runs): the first call
   * lists at most `most` + 1 of its entries, and when there are no more than
   * `most`, keeps them, so this and later reads under `prefix` are answered
   * from memory (writes of this process included), with no KV read a key.
   * A larger namespace is read key by key, as by {@link get}.
   */
  async getInSmall<T>(prefix: Deno.KvKey, key: Deno.KvKey, most: number): Promise<T | undefined> {
    const id = keyId(prefix);
    if (!this.#preloadedPrefixes.has(id) && !this.#notSmall.has(id)) {
      let loading = this.#smallLoads.get(id);
      if (loading === undefined) {
        loading = (async () => {
          const found: Deno.KvEntry<unknown>[] = [];
          for await (const item of this.#kv.list({ prefix }, { limit: most + 1 })) found.push(item);
          if (found.length > most) {
            this.#notSmall.add(id);
            return;
          }
          for (const item of found) {
            // A write made meanwhile (or in a commit not ended) is newer than what the range read found.
            const entry = keyId(item.key);
            if (!this.#preloaded.has(entry) && !this.#committing.has(entry)) {
              this.#preloaded.set(entry, item.value);
            }
          }
          this.#preloadedPrefixes.add(id);
        })();
        this.#smallLoads.set(id, loading);
      }
      await loading;
    }
    return await this.get<T>(key);
  }

  /**
   * Read one entry of the namespace `prefix` that is read entry by entry
   * (parsed lock files, say): by point reads while few are asked for, and
   * past {@link RANGE_AFTER} of them by loading the whole range at once (a
   * range read costs ~20× less a key). A no-op answered by the verified
   * index reads none, and so loads nothing at start-up.
   */
  async getInRange<T>(prefix: Deno.KvKey, key: Deno.KvKey): Promise<T | undefined> {
    const id = keyId(prefix);
    if (!this.#preloadedPrefixes.has(id)) {
      const reads = (this.#pointReads.get(id) ?? 0) + 1;
      this.#pointReads.set(id, reads);
      if (reads > RANGE_AFTER) await this.preload(prefix);
    }
    return await this.get<T>(key);
  }

  /** Read one entry. */
  async get<T>(key: Deno.KvKey): Promise<T | undefined> {
    const id = keyId(key);
    const pending = this.#pending.get(id) ?? this.#committing.get(id);
    if (pending) return pending.value as T;
    if (this.#preloaded.has(id)) return this.#preloaded.get(id) as T;
    if (this.#isPreloaded(key)) return undefined;
    return (await this.#kv.get<T>(key)).value ?? undefined;
  }

  #isPreloaded(key: Deno.KvKey): boolean {
    for (let n = key.length - 1; n > 0; n--) {
      if (this.#preloadedPrefixes.has(keyId(key.slice(0, n)))) return true;
    }
    return false;
  }

  /** True when a range read of a prefix of `key` has begun ({@link preload}, {@link getInSmall}). */
  #underLoad(key: Deno.KvKey): boolean {
    for (let n = key.length - 1; n > 0; n--) {
      const id = keyId(key.slice(0, n));
      if (this.#preloading.has(id) || this.#smallLoads.has(id)) return true;
    }
    return false;
  }

  /** Read every entry under `prefix`, queued writes included. */
  async list<T>(prefix: Deno.KvKey): Promise<{ key: Deno.KvKey; value: T }[]> {
    const result = new Map<string, { key: Deno.KvKey; value: T }>();
    for await (const item of this.#kv.list<T>({ prefix })) {
      result.set(keyId(item.key), { key: item.key, value: item.value });
    }
    for (const queued of [this.#committing, this.#pending]) {
      for (const [id, { key, value }] of queued) {
        if (key.length > prefix.length && prefix.every((part, i) => key[i] === part)) {
          result.set(id, { key, value: value as T });
        }
      }
    }
    return [...result.values()];
  }

  /** Write one entry now. */
  async set(key: Deno.KvKey, value: unknown): Promise<void> {
    const id = keyId(key);
    this.#pending.delete(id);
    this.#committing.delete(id);
    if (this.#preloaded.has(id) || this.#isPreloaded(key)) this.#preloaded.set(id, value);
    await this.#kv.set(key, value);
  }

  /** Delete one entry now. */
  async delete(key: Deno.KvKey): Promise<void> {
    const id = keyId(key);
    this.#pending.delete(id);
    this.#committing.delete(id);
    this.#preloaded.delete(id);
    await this.#kv.delete(key);
  }

  /**
   * Queue a write, committed in batches by {@link flush}. `bytes`, an
   * estimate of the value's serialised size (an upper bound for small
   * values), lets a flush group values into commits KV accepts at the first
   * try: large ones (a chunk of a directory's per-file index, tens of KB)
   * fewer than 200 to a commit, instead of 200 at once, rejected, and split
   * in halves again and again (each try serialises every value anew); small
   * ones up to KV's 1,000. Without it a value counts as a 200th of a commit.
   */
  defer(key: Deno.KvKey, value: unknown, bytes?: number): void {
    const id = keyId(key);
    this.#pending.delete(id); // the last write goes last
    this.#pending.set(id, { key, value, bytes });
  }

  /** Commit queued writes. */
  async flush(): Promise<void> {
    await this.#writeHeld();
    if (this.#writeError !== undefined) {
      const { error } = this.#writeError;
      this.#writeError = undefined;
      throw error;
    }
    const writes = [...this.#pending.values()];
    this.#pending.clear();
    for (const write of writes) {
      const id = keyId(write.key);
      if (this.#isPreloaded(write.key)) this.#preloaded.set(id, write.value);
      this.#committing.set(id, write);
    }
    try {
      let start = 0;
      let bytes = 0;
      for (let end = 0; end < writes.length; end++) {
        const size = writes[end].bytes ?? UNSIZED_BYTES;
        if (end - start === MUTATIONS || (end > start && bytes + size > BATCH_BYTES)) {
          await this.#commit(writes.slice(start, end));
          [start, bytes] = [end, 0];
        }
        bytes += size;
      }
      if (start < writes.length) await this.#commit(writes.slice(start));
    } finally {
      for (const write of writes) {
        const id = keyId(write.key);
        if (this.#committing.get(id) !== write) continue; // written again since
        this.#committing.delete(id);
        // A range read begun meanwhile skipped it (see preload): it is the newest value.
        if (this.#preloaded.has(id) || this.#underLoad(write.key)) {
          this.#preloaded.set(id, write.value);
        }
      }
    }
  }

  /**
   * Commit `writes` atomically. Deno KV also caps one commit at 800 KB and a
   * value at 64 KiB, which entries such as a parsed lock file with a large
   * directory manifest exceed; the serialised size is only known to KV, so a
   * rejected batch is split in halves, and a single entry still too large is
   * dropped: every entry is a cache, so that costs time, never correctness.
   */
  async #commit(writes: readonly { key: Deno.KvKey; value: unknown }[]): Promise<void> {
    const atomic = this.#kv.atomic();
    try {
      for (const { key, value } of writes) atomic.set(key, value);
      await atomic.commit();
    } catch (error) {
      if (!(error instanceof TypeError && /too large/.test(error.message))) throw error;
      if (writes.length === 1) return;
      const half = writes.length >> 1;
      await this.#commit(writes.slice(0, half));
      await this.#commit(writes.slice(half));
    }
  }

  /** Drop queued writes: nothing of this process is recorded (`--no-commit`). */
  discardPending(): void {
    this.#pending.clear();
    this.#held = [];
  }

  /**
   * Flush and close. Damage met by these last writes comes after the
   * command's work and output: when the store was opened with `onReset`, it
   * is set aside with one line through it (the next command starts a new
   * one) instead of failing a command that has done its work, or running it
   * again and printing its output twice.
   */
  async close(): Promise<void> {
    let damage: unknown;
    try {
      await this.flush();
    } catch (error) {
      if (!isCorruptStateError(error) || this.#place?.onReset === undefined) throw error;
      damage = error;
    } finally {
      this.#kv.close();
    }
    if (damage === undefined) return;
    const { stateDir, onReset } = this.#place!;
    const aside = setAsideState(stateDir);
    onReset!(
      `the state store ${join(stateDir, STATE_FILE)} is damaged (${
        messageOf(damage)
      }): moved it to ${aside}; the next command starts a new one (it is a cache: file hashes are read again)`,
    );
  }
}

// Slots of a chunk in StateStore's index of chunked stamps (a chunk holds fewer).
const CHUNK_SLOTS = 4_096;

/** True when `chunk`, read from KV, is shaped as {@link chunkOf} makes one. */
function wellFormed(chunk: ObjectChunk): boolean {
  const { hashes, stamps } = chunk ?? {};
  return Array.isArray(hashes) && hashes.length <= CHUNK_SLOTS &&
    stamps instanceof Float64Array && stamps.length === 3 * hashes.length;
}

/** The chunk of the stamps of `hashes[start…end)`' objects. */
function chunkOf(
  hashes: readonly string[],
  stamps: readonly FileStamp[],
  start: number,
  end: number,
): ObjectChunk {
  const values = new Float64Array(3 * (end - start));
  for (let i = start; i < end; i++) {
    const stamp = stamps[i];
    const at = 3 * (i - start);
    values[at] = stamp.mtime;
    values[at + 1] = stamp.size;
    values[at + 2] = stamp.ino;
  }
  return { hashes: hashes.slice(start, end), stamps: values };
}

/** The store's file in the state directory. */
const STATE_FILE = "state.db";

/**
 * How SQLite (through Deno KV) says that a database file is damaged, and how
 * KV says that a value's bytes are (a page damaged inside a stored value:
 * met by a point read since values are no longer loaded up front), or that
 * a record's value column is of another type than KV writes (damage inside
 * a record that SQLite's own checks let through).
 */
const CORRUPT =
  /file is not a database|database disk image is malformed|SQLITE_(?:CORRUPT|NOTADB)|could not deserialize value|Invalid column type/i;

/**
 * True when `error` says the state store's file is damaged: SQLite found a
 * file that is not a database, or a malformed page. Such an error may come
 * from any read, not only from opening the store.
 */
export function isCorruptStateError(error: unknown): boolean {
  return error instanceof Error && CORRUPT.test(error.message);
}

/**
 * Move a damaged store out of the way: `state.db` (and SQLite's `-wal` and
 * `-shm` files) in `stateDir` become `state.db.corrupt` (and so on),
 * replacing an older one, so that it can be inspected but never piles up.
 * Returns the new path of the store's file.
 */
export function setAsideState(stateDir: string): string {
  const file = join(stateDir, STATE_FILE);
  for (const suffix of ["", "-wal", "-shm"]) {
    try {
      Deno.renameSync(file + suffix, `${file}.corrupt${suffix}`);
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
      // A leftover of an older store must not be paired with the new one.
      try {
        Deno.removeSync(`${file}.corrupt${suffix}`);
      } catch {
        // nothing there
      }
    }
  }
  return `${file}.corrupt`;
}

/**
 * {@link openChecked}, again a few times (10 ms, then twice as long each
 * time, ~2.5 s in all) while SQLite answers "database is locked": two
 * `pivot` processes opening a new store at once (`repro` twice right after
 * `init`) met it now and then, the second one failing with "This is a bug
 * in pivot" (`tests/e2e/concurrency_test.ts`; a stack from `openKv`).
 */
async function openWhenFree(file: string): Promise<Deno.Kv> {
  for (let attempt = 0;; attempt++) {
    try {
      return await openChecked(file);
    } catch (error) {
      const locked = error instanceof Error && /database is locked/.test(error.message);
      if (!locked || attempt === 8) throw error;
      await new Promise((resolve) => setTimeout(resolve, 10 << attempt));
    }
  }
}

/**
 * Open the KV store at `file` and read from it once: a damaged page is not
 * always found by opening alone.
 */
async function openChecked(file: string): Promise<Deno.Kv> {
  const kv = await Deno.openKv(file);
  try {
    await kv.get([NS.file, ""]);
    return kv;
  } catch (error) {
    kv.close();
    throw error;
  }
}

function keyId(key: Deno.KvKey): string {
  // The replacer (a call per part) only when a part needs it: a store of a
  // directory's objects makes an id per object.
  return key.some((part) => typeof part === "bigint")
    ? JSON.stringify(key, (_k, v) => typeof v === "bigint" ? `${v}n` : v)
    : JSON.stringify(key);
}
