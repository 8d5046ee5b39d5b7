/**
 * The content-addressed cache under `.pivot/cache/files/ab/cdef…`: one
 * read-only object per distinct file content, keyed by its xxhash64, and one
 * object per directory manifest (the manifest's canonical JSON, so every
 * object's content hashes to its name).
 *
 * Objects are written to a temporary name and renamed into place, so a
 * crash never leaves a half-written object under a valid name. An object
 * that is a hard link to a file already written and hashed is linked
 * straight to its name: a link is made whole in one call.
 *
 * Metadata operations (stat, mkdir, link, chmod, rename) are synchronous:
 * they take microseconds, and Deno's async file ops cost ~40 µs each in
 * dispatch, which on a 176-stage run was most of the engine's own time.
 * Copies, which move data, stay asynchronous.
 *
 * @module
 */

import { dirname, join } from "../posix_path.ts";
import { canonicalJson, type Hash, hashBytes, hashFile } from "./hash.ts";
import { type FileStamp, stampOf, stampOfLibc, type StateStore } from "./state.ts";
import { writeObjectFile } from "../libc_fs.ts";
import { copySmallNew, copyWritable, SMALL_COPY, tryHardLink } from "./copy.ts";
import { ensureDir, ensureDirAsync } from "./ensure_dir.ts";
import { linkReadOnly } from "./link_read_only.ts";
import {
  EXISTED,
  LINKED,
  linkReadOnlyMany,
  type ManyOptions,
  readAndHashMany,
  type ReadOne,
  writeReturnedMany,
} from "./stat_many.ts";
import { statOrUndefined } from "../paths.ts";
import { statIfPresent } from "../absent_path.ts";
import type { ObjectWriter } from "./object_writer.ts";

export { CHECKOUT_MODES, type CheckoutMode, DEFAULT_CHECKOUT_MODE } from "./checkout_mode.ts";
import type { CheckoutMode } from "./checkout_mode.ts";
import type { ReturnedFiles } from "../model/returned_files.ts";

/** True for the modes whose workspace files share the object's data (a write reaches the cache). */
export function sharesObject(mode: CheckoutMode): boolean {
  return mode === "hardlink" || mode === "symlink";
}

/** One file of a directory manifest. */
export interface ManifestEntry {
  /** POSIX path relative to the directory. */
  readonly path: string;
  /** Content hash. */
  readonly hash: Hash;
}

/** A directory's content: its files, sorted by path. */
export interface DirManifest {
  /** Files, sorted by path. */
  readonly files: readonly ManifestEntry[];
}

/** The canonical text of a manifest, whose hash is the directory's hash. */
function manifestText(manifest: DirManifest): string {
  // canonicalJson's text, built without its key-sorting replacer (a call per
  // value: most of the time for 100,000 files): keys written in sorted order.
  const files = new Array<{ hash: string; path: string }>(manifest.files.length);
  let plain = true;
  for (let i = 0; i < files.length && plain; i++) {
    const { path, hash } = manifest.files[i];
    plain = typeof hash === "string" && typeof path === "string";
    files[i] = { hash, path };
  }
  if (plain) return JSON.stringify({ files });
  return canonicalJson({ files: manifest.files.map(({ path, hash }) => ({ path, hash })) });
}

/** The hash of a directory with this manifest. */
export function hashManifest(manifest: DirManifest): Promise<Hash> {
  return hashBytes(manifestText(manifest));
}

// One home for temporary names, which the next command cleans up after a crash.
export { tempPath } from "./temp_files.ts";
import { tempPath } from "./temp_files.ts";

/** Options of a {@link Cache}. */
export interface CacheOptions {
  /**
   * Where the stamps of objects are remembered, so that an object changed
   * behind Pivot's back (a hard-linked out written in place) is noticed
   * without re-reading every object. Without it, objects are not checked
   * when stored over.
   */
  readonly state?: StateStore;
  /** Told about corrupt objects found while storing. */
  readonly warn?: (message: string) => void;
  /** When small objects are created synchronously (default: {@link CreatePace}'s). */
  readonly pace?: CreatePace;
}

/**
 * Whether the next small object is created synchronously. Synchronous
 * creation costs less CPU than an asynchronous open and write (each a hand-off
 * to Deno's blocking pool) while the filesystem answers at once; but one
 * create that waits on a busy disk then holds the whole process, and
 * nothing else is in flight beside it (at 100,000 files on a loaded machine:
 * 236-247 s of wall against 138-166 s). So a create that held the thread for
 * {@link CreatePace.slowMs} or more makes the next {@link CreatePace.spell}
 * objects asynchronous, several in flight; then synchronous creation is
 * tried again. See docs/performance.md, "Directory outs, first run, fourth
 * session".
 */
export class CreatePace {
  #asyncLeft = 0;

  /** A pace switching after a create of `slowMs` or more, for `spell` objects. */
  constructor(readonly slowMs = 2, readonly spell = 256) {}

  /** Whether to create the next object synchronously. */
  get sync(): boolean {
    return this.#asyncLeft === 0;
  }

  /** A synchronous create held the thread `ms` milliseconds. */
  tookSync(ms: number): void {
    if (ms >= this.slowMs) this.#asyncLeft = this.spell;
  }

  /** An object was created asynchronously. */
  wroteAsync(): void {
    if (this.#asyncLeft > 0) this.#asyncLeft--;
  }
}

/** Options of {@link Cache.storeBytes}. */
export interface StoreBytesOptions {
  /** Make the object's file on Deno's blocking pool (for a store off the run's critical path). */
  readonly background?: boolean;
  /** Make it on this writer thread when the thread keeps up (a large directory's objects). */
  readonly writer?: ObjectWriter;
}

/** The cache of one project. */
export class Cache {
  /** Absolute cache directory (`.pivot/cache`). */
  readonly dir: string;
  readonly #files: string;
  readonly #state: StateStore | undefined;
  readonly #warn: (message: string) => void;
  readonly #pace: CreatePace;

  /** A cache rooted at `dir`. */
  constructor(dir: string, options: CacheOptions = {}) {
    this.dir = dir;
    this.#files = `${join(dir, "files")}/`;
    this.#state = options.state;
    this.#warn = options.warn ?? (() => {});
    this.#pace = options.pace ?? new CreatePace();
  }

  /**
   * The directory of the objects, ending in "/": the object of a hash of hex
   * digits `h` is at `objectsDir + h.slice(0, 2) + "/" + h.slice(2)` (see
   * {@link Cache.objectPath}).
   */
  get objectsDir(): string {
    return this.#files;
  }

  /** Where the object for `hash` lives. */
  objectPath(hash: Hash): string {
    // Concatenated, not joined: a checkout of 100,000 files asks 200,000
    // times, and `join` normalises every path it makes.
    return /^[0-9a-f]+$/.test(hash)
      ? `${this.#files}${hash.slice(0, 2)}/${hash.slice(2)}`
      : join(this.dir, "files", hash.slice(0, 2), hash.slice(2));
  }

  /**
   * True when the cache holds `hash` whole: its object, and for a directory
   * (`isDir`) its manifest's and every one of its files' objects (their
   * content is not checked).
   */
  async hasWhole(hash: Hash, isDir: boolean): Promise<boolean> {
    if (!this.has(hash)) return false;
    if (!isDir) return true;
    const manifest = await this.readManifest(hash);
    return manifest !== undefined && manifest.files.every((file) => this.has(file.hash));
  }

  /** True when an object for `hash` exists (its content is not checked). */
  has(hash: Hash): boolean {
    try {
      // Sync on purpose: a no-op run checks every out's object.
      Deno.lstatSync(this.objectPath(hash));
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return false;
      throw error;
    }
  }

  /**
   * Store the file at `source` (whose content hashes to `hash`) as an object.
   * With `link`, the object becomes a hard link to `source` (same inode, made
   * read-only) when the filesystem allows; otherwise it is a copy. Returns the
   * object's stamp, and whether it was made now (false: an intact object was
   * there already). With `batch`, one of the files of a directory
   * ({@link Cache.batch}). `read` is the stamp `source` had when the caller
   * read it to hash it (the `fstat` of its open file): an object linked to
   * it has that stamp, taken instead of a `stat` after linking.
   */
  async storeFile(
    source: string,
    hash: Hash,
    link: boolean,
    batch?: ObjectBatch,
    read?: FileStamp,
  ): Promise<{ stamp: FileStamp; made: boolean }> {
    if (batch === undefined) return await this.#storeFile(source, hash, link, undefined, read);
    let made = false;
    const stamp = await batch.once(hash, async () => {
      const stored = await this.#storeFile(source, hash, link, batch, read);
      made = stored.made;
      return stored.stamp;
    });
    return { stamp, made };
  }

  async #storeFile(
    source: string,
    hash: Hash,
    link: boolean,
    batch: ObjectBatch | undefined,
    read: FileStamp | undefined,
  ): Promise<{ stamp: FileStamp; made: boolean }> {
    const present = batch?.absent(hash) ? undefined : await this.#intact(hash);
    if (present) return { stamp: present, made: false };
    const object = this.objectPath(hash);
    ensureDir(dirname(object));
    if (link) {
      let linked = linkReadOnly(source, object);
      for (let tries = 0; linked === "exists" && tries < 3; tries++) {
        // Another writer made it since it was looked for (another process,
        // or the same content stored without a batch): checked as one found
        // present is, and linked again when that moved it aside as corrupt.
        const found = await this.#intact(hash);
        if (found !== undefined) return { stamp: found, made: false };
        linked = linkReadOnly(source, object);
      }
      if (linked === "linked") {
        // The object is the inode the caller read (the link is of the path
        // it read): `read` is its stamp, as linking and `chmod` change
        // neither mtime, size nor inode. Were the file replaced since it
        // was read, `read` would not be the object's stamp, so the object
        // would be re-read when next checked: never a wrong object taken
        // as intact.
        const stamp = read ?? stampOf(Deno.statSync(object));
        if (!batch?.stampsKept) await this.#state?.rememberObject(hash, stamp);
        return { stamp, made: true };
      }
      // The link refused (another filesystem, links not allowed): a copy,
      // the source left as it was (writable). (Or a name raced for thrice:
      // copied over.)
    }
    const temp = tempPath(object);
    try {
      await Deno.copyFile(source, temp);
      Deno.chmodSync(temp, 0o444);
      Deno.renameSync(temp, object);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    // The content is known (the caller hashed it): remember the object's
    // stamp, so that a later change to it is noticed without re-reading.
    const stamp = stampOf(Deno.statSync(object));
    if (!batch?.stampsKept) await this.#state?.rememberObject(hash, stamp);
    return { stamp, made: true };
  }

  /**
   * Store, as objects that are hard links to them ({@link linkReadOnly}),
   * those of the files `paths` (relative to `from`, ending in "/") whose
   * objects `batch` knows to be absent, each content once; `hashes` are
   * their contents' hashes and `reads` their stamps as read to hash them,
   * which the objects linked have. A long list is linked on two threads
   * ({@link linkReadOnlyMany}, with `options`). Returns, per file, its
   * object's stamp when it was linked here; undefined for the rest (an
   * object maybe present, content met earlier in the list, the link refused
   * or something at the object's name already): store those with
   * {@link Cache.storeFile} and the same batch, which knows the objects
   * linked here whose content is met again in the list.
   */
  async linkAbsent(
    from: string,
    paths: readonly string[],
    hashes: readonly Hash[],
    reads: readonly FileStamp[],
    batch: ObjectBatch,
    options: ManyOptions = {},
  ): Promise<(FileStamp | undefined)[]> {
    const made = new Array<FileStamp | undefined>(paths.length);
    const chosen: number[] = [];
    const met = new Set<Hash>();
    // Content met more than once: the batch is told of those objects only,
    // as only their other files go to `storeFile` with it (telling it of
    // all 100,000 objects of a large out cost ~60 ms and a map as large).
    const twice = new Set<Hash>();
    for (let i = 0; i < paths.length; i++) {
      const hash = hashes[i];
      if (met.has(hash)) {
        twice.add(hash);
        continue;
      }
      met.add(hash);
      if (batch.absent(hash)) {
        chosen.push(i);
        ensureDir(dirname(this.objectPath(hash)));
      }
    }
    const linked = await linkReadOnlyMany({
      from,
      paths: chosen.map((i) => paths[i]),
      hashes: chosen.map((i) => hashes[i]),
      objectPath: (hash) => this.objectPath(hash),
      objects: this.#files,
    }, options);
    for (let k = 0; k < chosen.length; k++) {
      if (linked[k] !== LINKED) continue;
      const i = chosen[k];
      // The object is the inode read (see #storeFile): its stamp is the one read.
      const stamp = reads[i];
      made[i] = stamp;
      await this.#made(hashes[i], stamp, batch, twice);
    }
    return made;
  }

  /**
   * Read and hash the files `paths` (relative to `from`, ending in "/") and
   * store each as an object that is a hard link to it ({@link linkReadOnly}),
   * as soon as it is hashed, on this thread and a helper thread
   * ({@link readAndHashMany}, with `readOne`, `limit` and `options`): a
   * large directory's store in `hardlink` mode, each file read once, its
   * object the inode read, with the stamp of that read. Returns each file's
   * stamp and hash (undefined for one to hash as a stream: larger than
   * `limit` or changed while read), and its object's stamp where it was
   * linked here; undefined for the rest (an object present already, content
   * met earlier, the link refused, a file not hashed): store those with
   * {@link Cache.storeFile} and the same batch, which knows the objects
   * linked here whose content another file's link found there.
   */
  async readAndLinkNew(
    from: string,
    paths: readonly string[],
    readOne: ReadOne,
    limit: number,
    batch: ObjectBatch,
    options: ManyOptions = {},
  ): Promise<
    { stamps: FileStamp[]; hashes: (Hash | undefined)[]; made: (FileStamp | undefined)[] }
  > {
    // Every fan-out directory first (a large directory's hashes fill all 256).
    for (let fan = 0; fan < 256; fan++) ensureDir(this.#files + fan.toString(16).padStart(2, "0"));
    const link = { objects: this.#files, objectPath: (hash: Hash) => this.objectPath(hash) };
    const read = await readAndHashMany(from, paths, readOne, limit, { ...options, link });
    const { stamps, hashes, linked } = read;
    const made = new Array<FileStamp | undefined>(paths.length);
    // Content whose link found its name taken (met twice, or an object
    // there before): the batch is told of those objects only, as only
    // their other files go to `storeFile` with it (a set of all 100,000
    // hashes of a large out cost ~150 ms, and telling the batch of each
    // object ~60 ms and a map as large).
    const twice = new Set<Hash>();
    for (let i = 0; i < paths.length; i++) if (linked[i] === EXISTED) twice.add(hashes[i]!);
    for (let i = 0; i < paths.length; i++) {
      if (linked[i] !== LINKED) continue;
      const hash = hashes[i]!;
      // The object is the inode read (see #storeFile): its stamp is the one read.
      const stamp = stamps[i];
      made[i] = stamp;
      await this.#made(hash, stamp, batch, twice);
    }
    return { stamps, hashes, made };
  }

  /**
   * Write the files a stage returned (`returned`, `loaders.files()`) under
   * `from` (ending in "/"; every directory they need made), each once, and
   * make each new content's object from its first file (`hashes` are the
   * contents' hashes), on this thread and a helper thread
   * ({@link writeReturnedMany}, with `options`): the store of a large
   * directory a stage returned. With `link` (`hardlink` mode) each file is
   * made read-only and a new object is a hard link to it; without, the file
   * is writable and the object written from the same bytes. Returns each
   * file's stamp as written, and its object's stamp where the object was
   * made here; undefined for the rest (an object present already, content
   * met earlier, a link refused, an object the helper left): store those
   * with {@link Cache.storeFile} or {@link Cache.storeBytes} and the same
   * batch.
   */
  async writeReturnedNew(
    from: string,
    returned: ReturnedFiles,
    hashes: readonly Hash[],
    batch: ObjectBatch,
    link: boolean,
    options: ManyOptions = {},
  ): Promise<{ stamps: FileStamp[]; made: (FileStamp | undefined)[] }> {
    const n = hashes.length;
    const objectHashes = new Array<Hash | undefined>(n);
    const met = new Set<Hash>();
    // Content met more than once: the batch is told of those objects only (see linkAbsent).
    const twice = new Set<Hash>();
    for (let i = 0; i < n; i++) {
      const hash = hashes[i];
      if (met.has(hash)) twice.add(hash);
      else {
        met.add(hash);
        if (batch.absent(hash)) objectHashes[i] = hash;
      }
    }
    for (let fan = 0; fan < 256; fan++) ensureDir(this.#files + fan.toString(16).padStart(2, "0"));
    const { paths, data, ends } = returned;
    const written = await writeReturnedMany(
      {
        from,
        paths,
        data,
        ends,
        objectHashes,
        objectPath: (hash) => this.objectPath(hash),
        objects: this.#files,
      },
      link,
      options,
    );
    const { stamps, linked, objects } = written;
    const made = new Array<FileStamp | undefined>(n);
    for (let i = 0; i < n; i++) {
      // Linked: the object is the file written (see #storeFile), with its stamp.
      const stamp = link ? (linked[i] === LINKED ? stamps[i] : undefined) : objects[i];
      if (stamp === undefined) continue;
      made[i] = stamp;
      await this.#made(hashes[i], stamp, batch, twice);
    }
    return { stamps, made };
  }

  /**
   * An object of a directory's batch just made here for `hash`, with
   * `stamp`: its stamp remembered (unless the batch keeps stamps for the
   * manifest), and the batch told of it when its content is met again
   * (`twice`), as the other files with it go to {@link Cache.storeFile}.
   */
  async #made(hash: Hash, stamp: FileStamp, batch: ObjectBatch, twice: Set<Hash>): Promise<void> {
    if (!batch.stampsKept) await this.#state?.rememberObject(hash, stamp);
    if (twice.has(hash)) batch.made(hash, stamp);
  }

  /**
   * Store `bytes` (whose hash is `hash`, read from a file by the caller) as an
   * object, written from memory: a small file is read once to be hashed and
   * stored. Returns the object's stamp. With `batch`, one of the files of a
   * directory ({@link Cache.batch}). With `background`, the object's file is
   * made on Deno's blocking pool: for a store off the run's critical path,
   * whose thread is better left to other work. With `writer`, by that
   * thread while it keeps up ({@link ObjectWriter.ready}), else by this one.
   */
  storeBytes(
    bytes: Uint8Array,
    hash: Hash,
    batch?: ObjectBatch,
    options: StoreBytesOptions = {},
  ): Promise<FileStamp> {
    if (batch === undefined) return this.#storeBytes(bytes, hash, undefined, options);
    return batch.once(hash, () => this.#storeBytes(bytes, hash, batch, options));
  }

  async #storeBytes(
    bytes: Uint8Array,
    hash: Hash,
    batch: ObjectBatch | undefined,
    options: StoreBytesOptions,
  ): Promise<FileStamp> {
    const present = batch?.absent(hash) ? undefined : await this.#intact(hash);
    if (present) return present;
    const object = this.objectPath(hash);
    if (options.background) await ensureDirAsync(dirname(object));
    else ensureDir(dirname(object));
    let stamp: FileStamp | undefined;
    if (options.writer?.ready) {
      // Made by the writer thread; one it did not make (an error there) is
      // made here, where the error is met again and thrown.
      stamp = await options.writer.write(tempPath(object), object, bytes);
    }
    stamp ??= await this.#writeObject(bytes, object, options);
    if (!batch?.stampsKept) await this.#state?.rememberObject(hash, stamp);
    return stamp;
  }

  /** Write the object `object` from `bytes` through a temporary name; its stamp. */
  async #writeObject(
    bytes: Uint8Array,
    object: string,
    options: StoreBytesOptions,
  ): Promise<FileStamp> {
    const temp = tempPath(object);
    if (options.writer !== undefined) {
      // Beside a writer thread (a large directory): through libc, as the
      // writer makes its own; by Deno's calls below when that fails.
      const fast = writeObjectFile(temp, object, bytes);
      if (fast !== undefined) return stampOfLibc(fast);
    }
    let stamp: FileStamp;
    try {
      // Synchronous while the filesystem answers at once, asynchronous for a
      // while after it did not ({@link CreatePace}), or when the caller is
      // in no hurry (`background`: the file is made on Deno's blocking pool,
      // in one trip). The stamp from the new file either way.
      // Beside a writer thread, always synchronously: this thread makes an
      // object only while the writer is behind, so a create is in flight
      // there whatever this one waits for.
      if (options.background) {
        await Deno.writeFile(temp, bytes, { createNew: true, mode: 0o444 });
        stamp = stampOf(Deno.statSync(temp));
      } else if (options.writer !== undefined) {
        Deno.writeFileSync(temp, bytes, { createNew: true, mode: 0o444 });
        stamp = stampOf(Deno.statSync(temp));
      } else if (this.#pace.sync) {
        const start = performance.now();
        using file = Deno.openSync(temp, { write: true, createNew: true, mode: 0o444 });
        for (let done = 0; done < bytes.length;) done += file.writeSync(bytes.subarray(done));
        stamp = stampOf(file.statSync());
        this.#pace.tookSync(performance.now() - start);
      } else {
        using file = await Deno.open(temp, { write: true, createNew: true, mode: 0o444 });
        for (let done = 0; done < bytes.length;) done += await file.write(bytes.subarray(done));
        stamp = stampOf(file.statSync());
        this.#pace.wroteAsync();
      }
      Deno.renameSync(temp, object);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    return stamp;
  }

  /**
   * A batch for storing the `files` files of one directory: which objects
   * are absent is learnt from one listing per fan-out directory instead of
   * a failing `stat` per object (see {@link ObjectBatch}). With
   * `stampsKept`, the stamps of the objects it makes are not remembered one
   * by one: the caller remembers them all for the directory's manifest
   * (`StateStore.rememberObjectChunks`).
   */
  batch(files: number, options: { readonly stampsKept?: boolean } = {}): ObjectBatch {
    return new ObjectBatch(this.#files, files, options.stampsKept ?? false);
  }

  /**
   * The stamp of the object for `hash` when it is there and intact (checked
   * with {@link Cache.verify} when a state store was given), else undefined.
   * An object already there may have been written in place through a hard
   * link since it was stored: a corrupt one is moved aside, so the caller
   * stores it again.
   */
  async #intact(hash: Hash): Promise<FileStamp | undefined> {
    if (this.#state) return await this.verifiedStamp(hash, this.#state, this.#warn);
    const info = statOrUndefined(this.objectPath(hash));
    return info ? stampOf(info) : undefined;
  }

  /** Store a directory manifest; returns its hash. */
  async storeManifest(manifest: DirManifest): Promise<Hash> {
    // Encoded once, for the hash and the file (7 MB at 100,000 files).
    const bytes = new TextEncoder().encode(manifestText(manifest));
    const hash = await hashBytes(bytes);
    if (this.has(hash)) return hash;
    const object = this.objectPath(hash);
    ensureDir(dirname(object));
    const temp = tempPath(object);
    try {
      await Deno.writeFile(temp, bytes, { mode: 0o444 });
      Deno.renameSync(temp, object);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
    return hash;
  }

  /** Read a directory manifest, or undefined when missing or corrupt. */
  async readManifest(hash: Hash): Promise<DirManifest | undefined> {
    return (await this.readManifestText(hash))?.manifest;
  }

  /**
   * {@link Cache.readManifest}, with the manifest's text (its object's
   * content, checked): a hardlink checkout hands the text to its helper
   * thread, a copy of one string, where the parsed manifest would be
   * serialised object by object.
   */
  async readManifestText(
    hash: Hash,
  ): Promise<{ manifest: DirManifest; text: string } | undefined> {
    let text: string;
    try {
      text = await Deno.readTextFile(this.objectPath(hash));
    } catch (error) {
      if (error instanceof Deno.errors.NotFound) return undefined;
      throw error;
    }
    if (await hashBytes(text) !== hash) return undefined;
    return { manifest: JSON.parse(text) as DirManifest, text };
  }

  /**
   * True when the object for `hash` exists and its content still hashes to
   * `hash`. Content is re-read only when the object's stamp is unknown to the
   * state store. A corrupt object is reported through `onCorrupt` and
   * moved aside, so it is treated as missing from then on.
   */
  async verify(
    hash: Hash,
    state: StateStore,
    onCorrupt: (message: string) => void = () => {},
  ): Promise<boolean> {
    return await this.verifiedStamp(hash, state, onCorrupt) !== undefined;
  }

  /**
   * {@link Cache.verify}, returning the intact object's stamp (a hard link
   * to it has the same one) instead of true.
   */
  async verifiedStamp(
    hash: Hash,
    state: StateStore,
    onCorrupt: (message: string) => void = () => {},
  ): Promise<FileStamp | undefined> {
    const object = this.objectPath(hash);
    // A new object (every out of a first run) is not there yet: told without a failing stat.
    const info = statIfPresent(object);
    if (info === undefined) return undefined;
    const stamp = stampOf(info);
    if (await state.objectKnownAs(hash, stamp)) return stamp;
    const actual = await hashFile(object);
    if (actual === hash) {
      await state.rememberObject(hash, stamp);
      return stamp;
    }
    onCorrupt(
      `cache object ${hash} is corrupt (its content hashes to ${actual}: an out checked out as a hard link or symlink written in place?); moved aside to ${object}.corrupt and treated as missing`,
    );
    await Deno.rename(object, `${object}.corrupt`).catch(() => {});
    return undefined;
  }

  /**
   * Record that the object for `hash`, as it is now, was just checked
   * against its hash by the caller (a download hashed as it arrived), so
   * that {@link Cache.verify} does not read it again.
   */
  async rememberVerified(hash: Hash, state: StateStore): Promise<void> {
    await state.rememberObject(hash, stampOf(Deno.statSync(this.objectPath(hash))));
  }

  /**
   * Offer `file`, a writable copy of the object `hash` that nothing else
   * knows of (written from the same bytes as the object, checked in memory
   * as a download arrived), to the next {@link place} of that object by copy
   * or reflink in this process, which then moves it into place instead of
   * copying: for `pull`, a rename instead of a copy's opens, probe and
   * chmods per small file. {@link dropOfferedCopies} removes those not taken.
   */
  offerCopy(hash: Hash, file: string): void {
    const object = this.objectPath(hash);
    const earlier = offers.get(object);
    if (earlier !== undefined && earlier !== file) removeQuietly(earlier);
    offers.set(object, file);
  }

  /**
   * True while copies offered by {@link Cache.offerCopy} wait to be taken
   * (in this process): a checkout by copy then places each file through
   * {@link Cache.placeCopy}, which moves an offered copy instead of copying.
   */
  get copiesOffered(): boolean {
    return offers.size > 0;
  }

  /**
   * Place the object for `hash` at `dest` (whose parent exists), by `mode`,
   * replacing what is there in one rename. Hard links fall back to copies
   * across filesystems.
   *
   * `reflink` and `copy` both go through `Deno.copyFile`, which asks the
   * kernel for the copy (`copy_file_range` on Linux, which clones the
   * extents on btrfs and XFS; `clonefile` on macOS for files over 128 KiB):
   * a clone where the filesystem offers one, bytes copied otherwise, and in
   * both cases a file independent of the object. See docs/cache.md.
   */
  async place(hash: Hash, dest: string, mode: CheckoutMode): Promise<void> {
    const temp = tempPath(dest);
    try {
      await this.placeNew(hash, temp, mode);
      Deno.renameSync(temp, dest);
    } catch (error) {
      removeQuietly(temp);
      throw error;
    }
  }

  /**
   * Place the object for `hash` at `dest`, where nothing is, by `mode`: for
   * building a directory in a private temporary folder, which is renamed
   * into place whole, so no file needs a temporary name of its own (a copy
   * offered by {@link Cache.offerCopy} is moved there instead of copied).
   * True when `dest` is (a link to) the object itself, which then has its
   * stamp. The caller removes what a failure leaves.
   */
  async placeNew(hash: Hash, dest: string, mode: CheckoutMode): Promise<boolean> {
    const object = this.objectPath(hash);
    if ((mode === "copy" || mode === "reflink") && takeOffer(object, dest)) return false;
    if (mode === "symlink") Deno.symlinkSync(object, dest);
    else if (mode !== "hardlink" || !tryHardLink(object, dest)) {
      await copyWritable(object, dest);
      return false;
    }
    return true;
  }

  /**
   * Place the object for `hash`, whose stamp is `object` (just verified),
   * at `dest`, where nothing is, as a writable copy (`copy` mode); returns
   * the copy's stamp. A small object is copied from memory with one read and
   * one write ({@link copySmallNew}): a directory checkout's files are
   * mostly small, and `Deno.copyFile` costs about twice the system calls.
   * The caller removes what a failure leaves.
   */
  async placeCopy(hash: Hash, dest: string, object: FileStamp): Promise<FileStamp> {
    const path = this.objectPath(hash);
    if (!takeOffer(path, dest)) {
      const stamp = object.size <= SMALL_COPY ? copySmallNew(path, dest, object.size) : undefined;
      if (stamp !== undefined) return stamp;
      await copyWritable(path, dest);
    }
    return stampOf(Deno.statSync(dest));
  }
}

/**
 * Move the copy offered for `object` (see {@link Cache.offerCopy}) to
 * `dest`; false when there is none (or it is on another filesystem).
 */
function takeOffer(object: string, dest: string): boolean {
  if (offers.size === 0) return false; // the usual case: no lookup of a new string
  const offered = offers.get(object);
  if (offered === undefined) return false;
  offers.delete(object);
  try {
    Deno.renameSync(offered, dest);
    return true;
  } catch {
    removeQuietly(offered); // another filesystem: copy as usual
    return false;
  }
}

/**
 * What a {@link Cache} knows while storing the files of one directory: the
 * objects of this batch already stored (a directory often holds the same
 * content twice), and, per fan-out directory (`files/ab/`), the names it
 * held when first asked about. A failing `stat` costs ~20 µs in Deno (the
 * error object), most of storing a small object; a listing costs ~1 µs a
 * name. A fan-out directory is listed only when it is small beside the
 * objects the batch may store in it (estimated from its size in bytes, as
 * ext4 and most filesystems report it); else each object is `stat`-ed as
 * before.
 *
 * An object another process stores after the listing is stored again,
 * over it: the same content under the same name, so nothing is lost (a
 * hard-linked one is not: its link finds the name taken, and the object
 * there is checked as a present one is).
 */
export class ObjectBatch {
  readonly #files: string;
  readonly #perDir: number;
  readonly #listed = new Map<string, Set<string> | "stat">();
  readonly #stored = new Map<Hash, Promise<FileStamp>>();
  readonly #made = new Map<Hash, FileStamp>();

  /**
   * True when the caller remembers the stamps of the objects made with this
   * batch, for the directory's manifest ({@link Cache.batch}).
   */
  readonly stampsKept: boolean;

  /**
   * A batch for `files` files, in the cache's `files/` directory `filesDir`
   * (with a slash); see {@link ObjectBatch.stampsKept}.
   */
  constructor(filesDir: string, files: number, stampsKept = false) {
    this.#files = filesDir;
    this.stampsKept = stampsKept;
    // Objects expected per fan-out directory: hashes spread evenly over 256.
    this.#perDir = Math.max(1, files / 256);
  }

  /**
   * The stamp of the object `hash`, stored (or found intact) by `store` the
   * first time this batch is asked for it. Content met again while its first
   * store is still in flight (several files are: on Deno's blocking pool, or
   * asynchronously while the disk is slow) waits for that store instead of
   * writing a second temporary file whose rename would replace the first
   * object, leaving the first file with a stamp of an inode that is gone.
   */
  once(hash: Hash, store: () => Promise<FileStamp>): Promise<FileStamp> {
    const known = this.#stored.get(hash);
    if (known !== undefined) return known;
    const made = this.#made.get(hash);
    if (made !== undefined) return Promise.resolve(made);
    const pending = store();
    this.#stored.set(hash, pending);
    pending.then(
      // Settled: kept as its stamp, not as the promise (with its handlers:
      // ~200 bytes of heap an object, kept to the end of a 100,000-file
      // store, made each major collection there longer).
      (stamp) => {
        if (this.#stored.get(hash) !== pending) return;
        this.#stored.delete(hash);
        this.#made.set(hash, stamp);
      },
      // A failed store is not remembered: the next file with this content tries again.
      () => {
        if (this.#stored.get(hash) === pending) this.#stored.delete(hash);
      },
    );
    return pending;
  }

  /**
   * Record that the object `hash` was made by this batch's caller, with
   * `stamp` ({@link Cache.linkAbsent}): {@link ObjectBatch.once} gives it
   * from then on. A stamp, not a settled promise: a 100,000-file directory's
   * new objects are recorded at once, and each promise (with its handler)
   * cost ~200 bytes of heap at the commit's peak.
   */
  made(hash: Hash, stamp: FileStamp): void {
    this.#made.set(hash, stamp);
  }

  /** True when the object `hash` is known to be absent (false: it may be present; stat it). */
  absent(hash: Hash): boolean {
    if (!/^[0-9a-f]{3,}$/.test(hash)) return false;
    const fan = hash.slice(0, 2);
    let names = this.#listed.get(fan);
    if (names === undefined) {
      names = this.#list(`${this.#files}${fan}`);
      this.#listed.set(fan, names);
    }
    return names !== "stat" && !names.has(hash.slice(2));
  }

  #list(dir: string): Set<string> | "stat" {
    const info = statOrUndefined(dir);
    if (info === undefined) return new Set();
    if (!info.isDirectory) return "stat";
    // ~24 bytes a name in an ext4 directory block; 16 names listed cost
    // less than one failing stat.
    if (info.size / 24 > 16 * this.#perDir) return "stat";
    const names = new Set<string>();
    for (const entry of Deno.readDirSync(dir)) names.add(entry.name);
    return names;
  }
}

/**
 * Copies of objects offered by {@link Cache.offerCopy}, by object path: in
 * memory, as they serve the checkout of the process that downloaded them.
 */
const offers = new Map<string, string>();

/** Remove the copies offered by {@link Cache.offerCopy} and not taken. */
export function dropOfferedCopies(): void {
  for (const file of offers.values()) removeQuietly(file);
  offers.clear();
}

function removeQuietly(path: string): void {
  try {
    Deno.removeSync(path);
  } catch {
    // not there
  }
}
