/**
 * `stat`, hard-link, copy, and read and hash many files on two threads: this
 * one and a helper worker, which share the list in blocks taken from one
 * counter, so that a directory of 100,000 files is walked (a no-op's
 * check), linked (a `hardlink` checkout: each object stat-ed and linked in
 * one pass), copied (a `copy` checkout, likewise) or stored (a `hardlink`
 * store: each file read, hashed and linked as its object in one pass) by
 * both cores. Each call is a few
 * µs of kernel work and about as much of Deno's own (the op's dispatch, a
 * `FileInfo` with four `Date`s): one thread cannot go faster, and an asynchronous call costs more
 * in hand-offs than the call itself (docs/performance.md, "Directories at
 * 100,000 files, fourth session").
 *
 * The calling thread never waits for the helper to start: it takes blocks
 * from the first on (the helper from the last back) until none is left, and only then waits for the blocks the helper took (if
 * it took any). Whatever the helper could not do (an error, a missing file,
 * a link refused, the helper dying) is done again here, item by item, by
 * the same synchronous code a smaller list uses, so errors and fallbacks are
 * exactly those of the one-thread path.
 *
 * @module
 */

import {
  BLOCK,
  CONTROL,
  EXISTED,
  LIBC_STAT_FROM,
  linkCode,
  LINKED,
  type ManyJob,
  type ManyOp,
  type ManyReply,
  PATH_SEPARATOR,
  READ_HASH_WORDS,
  stampWords,
  type TreeJob,
} from "./_stat_many_job.ts";
import { type FileStamp, stampOf, stampOfDevice, stampOfLibc } from "./state.ts";
import { mark } from "../trace.ts";
import { threshold } from "../test_thresholds.ts";
import { copySmallNew, SMALL_COPY, tryHardLink } from "./copy.ts";
import { statOrUndefined } from "../paths.ts";
import { statStamp, writeObjectFile } from "../libc_fs.ts";
import { tempPath } from "./temp_files.ts";
import { linkMadeReadOnly, linkReadOnly } from "./link_read_only.ts";
import { writeNewFileSync } from "./new_file.ts";

export { BLOCK, EXISTED, LIBC_STAT_FROM, LINKED };

/** Lists shorter than this are done on the calling thread alone (a worker's start costs 10-30 ms). */
export const PARALLEL_FROM = threshold(16_384, 512);

/**
 * With a helper thread started ahead ({@link HelperThread}), lists from this
 * long are shared: its start is paid already, overlapped with other work,
 * and each list pays only the message to it and its results read back.
 */
export const PARALLEL_FROM_STARTED = threshold(4_096, 128);

/**
 * Whether the other processes leave a core free now: their tasks running
 * or ready to run are fewer than the cores. That count is the fourth field
 * of `/proc/loadavg` ("running/total", the whole machine's) less this
 * process's own threads running (`/proc/self/task/N/stat`: this one, and
 * any of V8's or Deno's busy at that moment, which must not make an idle
 * machine look busy). A helper thread pays only then: when the others fill
 * every core (each session gets its own share of the CPU here, however
 * many threads it runs), it only adds its start (10-30 ms, the caller
 * blocked) and both threads' contention to work done on one core's share
 * anyway; a hardlink checkout of 10,000 files took ~20 % more CPU and ~10 %
 * more wall with it there (docs/performance.md, "Hardlink checkout of a
 * directory, tenth session"). True where `/proc/loadavg` cannot be read
 * (not Linux): a second thread, as before. `PIVOT_HELPER_THREAD=on` (or
 * `off`) decides instead.
 *
 * @example
 * ```ts ignore
 * using helper = coreFree() ? HelperThread.start() : undefined;
 * ```
 */
export function coreFree(): boolean {
  // Tests (and measurements) choose: "on" always, "off" never.
  const chosen = Deno.env.get("PIVOT_HELPER_THREAD");
  if (chosen === "on" || chosen === "off") return chosen === "on";
  let loadavg: string | undefined;
  try {
    loadavg = Deno.readTextFileSync("/proc/loadavg");
  } catch {
    // Not Linux: a second thread, as before.
  }
  return coreFreeGiven(loadavg, ownRunningThreads(), navigator.hardwareConcurrency ?? 1);
}

/**
 * {@link coreFree}'s rule on what it read: `loadavg` is `/proc/loadavg`'s
 * text (undefined where it could not be read), `own` this process's threads
 * running now, `cores` the machine's. True when the other tasks running are
 * fewer than the cores, or when `loadavg` is missing or not in the expected
 * format (a second thread, as before).
 *
 * @example
 * ```ts
 * import { coreFreeGiven } from "./stat_many.ts";
 * coreFreeGiven("0.50 0.40 0.30 2/345 6789\n", 1, 2); // true: one other task
 * ```
 */
export function coreFreeGiven(loadavg: string | undefined, own: number, cores: number): boolean {
  // The fourth field is "running/total", the whole machine's.
  const running = Number.parseInt(loadavg?.split(" ")[3] ?? "", 10);
  if (Number.isNaN(running)) return true;
  return running - own < cores;
}

/** This process's threads running or ready to run now (at least this one). */
function ownRunningThreads(): number {
  let running = 0;
  try {
    for (const { name } of Deno.readDirSync("/proc/self/task")) {
      try {
        const stat = Deno.readTextFileSync(`/proc/self/task/${name}/stat`);
        // "tid (name) S ...": the state follows the name, which may hold ") ".
        if (stat[stat.lastIndexOf(")") + 2] === "R") running++;
      } catch {
        // The thread ended meanwhile.
      }
    }
  } catch {
    // No /proc/self/task: count this thread only.
  }
  return Math.max(running, 1);
}

/** Options of {@link statMany} and {@link linkMany}. */
export interface ManyOptions {
  /**
   * Use the helper thread from this many items (default {@link PARALLEL_FROM},
   * {@link PARALLEL_FROM_STARTED} with {@link helper}; tests lower it).
   */
  readonly parallelFrom?: number;
  /**
   * A helper thread started ahead, used instead of starting one for this
   * list and left running for the next (the caller closes it).
   */
  readonly helper?: HelperThread;
  /**
   * Let the helper take a block (the last) before this thread takes any (for
   * tests: the helper's part is then sure to be exercised).
   */
  readonly helperFirst?: boolean;
  /**
   * With no helper at the start: asked every {@link LATE_CHECK} blocks this
   * thread does for a helper to join now (from the last block back, as one
   * there from the start), until it gives one. For a long list whose start
   * found no core free: a moment's load then need not keep it on one thread
   * for seconds. The caller closes the thread it gives.
   */
  readonly lateHelper?: () => HelperThread | undefined;
}

/** Blocks this thread does between two asks of {@link ManyOptions.lateHelper}. */
export const LATE_CHECK = 16;

/**
 * The stamp of each of `paths` (following symlinks), or undefined for one
 * that does not exist, as {@link stampOf} of `Deno.statSync`; any other
 * error is thrown, as `Deno.statSync` throws it. From
 * {@link LIBC_STAT_FROM} paths, both threads' stats go through libc's
 * `statx` (a path it cannot stat there is asked of `Deno.statSync`).
 *
 * @example
 * ```ts ignore
 * const stamps = await statMany(["a.txt", "b.txt"]);
 * ```
 */
export async function statMany(
  paths: readonly string[],
  options: ManyOptions = {},
): Promise<(FileStamp | undefined)[]> {
  const result = new Array<FileStamp | undefined>(paths.length);
  const viaLibc = paths.length >= LIBC_STAT_FROM;
  const local = (i: number) => {
    const fast = viaLibc ? statStamp(paths[i]) : undefined;
    if (fast !== undefined) {
      result[i] = stampOfLibc(fast);
      return;
    }
    const info = statOrUndefined(paths[i]);
    result[i] = info && stampOf(info);
  };
  const words = stampWords("stat");
  const stamps = new SharedArrayBuffer(
    useHelper(paths.length, options) ? paths.length * words * 8 : 0,
  );
  const numbers = new Float64Array(stamps);
  await share({ op: "stat", paths, stamps }, paths.length, local, (i) => {
    result[i] = stampAt(numbers, words * i);
  }, options);
  return result;
}

/**
 * The stamp and size of the object at `path` (undefined when it does not
 * exist): through libc's `statx` when `viaLibc` and it answers, else
 * `Deno.statSync`, which throws as it does (lib/libc_fs.ts `statStamp`).
 */
function objectStamp(path: string, viaLibc: boolean): FileStamp | undefined {
  const fast = viaLibc ? statStamp(path) : undefined;
  if (fast !== undefined) return stampOfLibc(fast);
  const info = statOrUndefined(path);
  return info && stampOf(info);
}

/** The stamp at `numbers[at..at + 4]`, as a helper's job wrote it. */
function stampAt(numbers: Float64Array, at: number): FileStamp {
  return stampOfDevice(numbers[at], numbers[at + 1], numbers[at + 2], numbers[at + 3]);
}

/**
 * Hard-link each of `sources` at the same index of `dests` (where nothing
 * is; their parents exist); returns, per item, whether it was linked. An
 * item not linked (another filesystem, links refused, the source missing)
 * is left for the caller to place otherwise, as `Deno.linkSync` failing
 * would; something already at its `dest` throws `AlreadyExists`.
 *
 * @example
 * ```ts ignore
 * const linked = await linkMany([".pivot/cache/files/ab/cdef"], ["out/a.txt"]);
 * ```
 */
export async function linkMany(
  sources: readonly string[],
  dests: readonly string[],
  options: ManyOptions = {},
): Promise<Uint8Array> {
  const linked = new Uint8Array(sources.length);
  const local = (i: number) => {
    linked[i] = tryHardLink(sources[i], dests[i]) ? 1 : 0;
  };
  await share({ op: "link", paths: sources, dests }, sources.length, local, (i) => {
    linked[i] = 1;
  }, options);
  return linked;
}

/** A directory's files to make cache objects of ({@link linkReadOnlyMany}). */
export interface NewObjects {
  /** The directory, ending in "/": file `paths[i]` is at `from + paths[i]`. */
  readonly from: string;
  /** The files, relative to {@link NewObjects.from}. */
  readonly paths: readonly string[];
  /** Their contents' hashes, by index. */
  readonly hashes: readonly string[];
  /** Where the cache keeps the object of `hash` (`Cache.objectPath`). */
  readonly objectPath: (hash: string) => string;
  /**
   * The objects' directory, ending in "/", in the same form as
   * {@link NewObjects.objectPath}'s paths: `objectPath(h)` is `objects +
   * h.slice(0, 2) + "/" + h.slice(2)` for a hash of hex digits.
   */
  readonly objects: string;
}

/**
 * Make each file's object (whose parent exists) a hard link to the file,
 * read-only ({@link linkReadOnly}): a directory's new objects, each its
 * file. Returns, per item, {@link LINKED}, {@link EXISTED} (nothing
 * changed), or 0 (the link refused, nothing changed); a failed `chmod`
 * throws. The helper is sent the relative paths and the hashes, not the
 * full paths (a fifth of the bytes at 100,000 files), and makes each path
 * as it links.
 *
 * @example
 * ```ts ignore
 * const made = await linkReadOnlyMany({
 *   from: "gen/", paths: ["a.txt"], hashes: ["abcdef0123456789"],
 *   objectPath: (h) => cache.objectPath(h), objects: cache.objectsDir,
 * });
 * ```
 */
export async function linkReadOnlyMany(
  files: NewObjects,
  options: ManyOptions = {},
): Promise<Uint8Array> {
  const { from, paths, hashes, objectPath, objects } = files;
  const outcome = new Uint8Array(paths.length);
  const local = (i: number) => {
    const made = linkReadOnly(from + paths[i], objectPath(hashes[i]));
    outcome[i] = linkCode(made);
  };
  const job = { op: "linkReadOnly", paths, dests: hashes, from, objects } as const;
  await share(job, paths.length, local, (i) => {
    outcome[i] = LINKED;
  }, options);
  return outcome;
}

/**
 * The files of a directory a stage returned (`loaders.files()`), to write
 * and make cache objects of ({@link writeReturnedMany}).
 */
export interface ReturnedObjects {
  /** The directory, ending in "/": file `paths[i]` is made at `from + paths[i]` (its parent exists). */
  readonly from: string;
  /** The files, relative to {@link ReturnedObjects.from}. */
  readonly paths: readonly string[];
  /** Every file's content, one after another (over a `SharedArrayBuffer`, shared with the helper). */
  readonly data: Uint8Array;
  /** Where each file's content ends in {@link ReturnedObjects.data}. */
  readonly ends: Float64Array;
  /** Per file, the hash of the object to make a link to it, or undefined for none. */
  readonly objectHashes: readonly (string | undefined)[];
  /** Where the cache keeps the object of `hash`, as in {@link NewObjects}. */
  readonly objectPath: (hash: string) => string;
  /** The objects' directory, ending in "/", as in {@link NewObjects}. */
  readonly objects: string;
}

/** What {@link writeReturnedMany} made, per file. */
export interface WrittenReturned {
  /** Each file's stamp as written. */
  readonly stamps: FileStamp[];
  /**
   * With `link`: {@link LINKED} where the file was linked at its object's
   * name, {@link EXISTED} where something was there already, 0 where the
   * link was refused or no hash was given.
   */
  readonly linked: Uint8Array;
  /** Without `link`: the stamp of each object written here; undefined for the rest. */
  readonly objects: (FileStamp | undefined)[];
  /** How many of the files the helper thread wrote. */
  readonly helped: number;
}

/**
 * Write each file of `files` with its content (lib/storage/new_file.ts
 * `writeNewFileSync`) and, where its object's hash is given, make that
 * object, on this thread and the helper's: the store of a large directory
 * a stage returned (`loaders.files()`), each file written once. With
 * `link` (`hardlink` mode) the file is made read-only and linked at the
 * object's name ({@link linkMadeReadOnly}): the object is the file. Without,
 * the file is writable and the object is written from the same bytes
 * (lib/libc_fs.ts `writeObjectFile`; on the helper only as an unnamed file,
 * else left to the caller). A file that cannot be written throws, as
 * `Deno.openSync` does (`AlreadyExists` when something is there).
 *
 * @example
 * ```ts ignore
 * const { stamps, linked } = await writeReturnedMany({
 *   from: "gen/", paths: ["a.txt"], data, ends, objectHashes: ["abcdef0123456789"],
 *   objectPath: (h) => cache.objectPath(h), objects: cache.objectsDir,
 * }, true);
 * ```
 */
export async function writeReturnedMany(
  files: ReturnedObjects,
  link: boolean,
  options: ManyOptions = {},
): Promise<WrittenReturned> {
  const { from, paths, data, ends, objectHashes, objectPath, objects: dir } = files;
  const n = paths.length;
  const stamps = new Array<FileStamp>(n);
  const linked = new Uint8Array(n);
  const objects = new Array<FileStamp | undefined>(n);
  const local = (i: number) => {
    const path = from + paths[i];
    const bytes = data.subarray(i === 0 ? 0 : ends[i - 1], ends[i]);
    stamps[i] = writeNewFileSync(path, bytes, link);
    const hash = objectHashes[i];
    if (hash === undefined) return;
    const object = objectPath(hash);
    if (link) linked[i] = linkCode(linkMadeReadOnly(path, object));
    else {
      const made = writeObjectFile(tempPath(object), object, bytes);
      if (made !== undefined) objects[i] = stampOfLibc(made);
    }
  };
  const op = link ? "writeLink" : "writeCopy";
  const words = stampWords(op);
  // Room for the helper's numbers whenever one may take part, from the start or later.
  const shared = useHelper(n, options) || options.lateHelper !== undefined;
  const numbers = new Float64Array(new SharedArrayBuffer(shared ? n * words * 8 : 0));
  const dests = objectHashes.map((hash) => hash ?? "");
  const job = { op, paths, dests, from, objects: dir, data, ends } as const;
  const remote = (i: number) => {
    const at = words * i;
    stamps[i] = stampAt(numbers, at);
    if (link) linked[i] = numbers[at + 4];
    else if (!Number.isNaN(numbers[at + 4])) objects[i] = stampAt(numbers, at + 4);
  };
  const stampsBuffer = numbers.buffer as SharedArrayBuffer;
  const helped = await share({ ...job, stamps: stampsBuffer }, n, local, remote, options);
  return { stamps, linked, objects, helped };
}

/** What {@link readAndHashMany} read (and linked), per file. */
export interface ReadHashed {
  /** Each file's stamp as it was read (the open file's, before the read). */
  readonly stamps: FileStamp[];
  /**
   * Each file's hash; undefined for one larger than the limit or that
   * changed size while read, for the caller to hash as a stream.
   */
  readonly hashes: (string | undefined)[];
  /**
   * With {@link ReadHashOptions.link}: per file, {@link LINKED} where it was
   * made its object, {@link EXISTED} where something was at the object's
   * name already, 0 where it was not linked (refused, or not hashed).
   */
  readonly linked: Uint8Array;
}

/** One file as {@link readAndHashMany}'s calling thread reads it (see there). */
export type ReadOne = (abs: string) => { stamp: FileStamp; hash: string | undefined };

/** {@link ManyOptions}, and where {@link readAndHashMany} makes objects. */
export interface ReadHashOptions extends ManyOptions {
  /**
   * Make each file hashed its object at once, a hard link made read-only
   * ({@link linkReadOnly}; the objects' fan-out directories must exist):
   * a directory's new objects (a `hardlink` store). `objects` and
   * `objectPath` as in {@link NewObjects}.
   */
  readonly link?: Pick<NewObjects, "objects" | "objectPath">;
}

/**
 * Read and hash each file of a directory (`from + paths[i]`) once, on this
 * thread and the helper's, and with `options.link` make each its object as
 * soon as it is hashed: the store of a large directory out in `hardlink`
 * mode, whose reads and hashes (~25 µs a file) took the calling thread
 * alone 2.5 s at 100,000 files before the links. This thread reads its
 * files with `readOne` (which throws as the one-thread store does); the
 * helper reads its own through libc (lib/libc_fs.ts `readSmall`: the same
 * calls, stamp and rule for a file that changed size as `readSmallFile`
 * with `viaLibc`) and hashes them (xxhash64, hash.ts), and sends each stamp,
 * hash and link outcome back as {@link READ_HASH_WORDS} numbers in one
 * shared buffer (56 bytes a file, no string or object per file on its
 * side). A file the helper could not read (missing, unreadable, libc not
 * usable there) is done here with `readOne`, which meets and throws its
 * error; a file larger than `limit`, or that changed size while the helper
 * read it, gets the helper's stamp and no hash (and no link), as `readOne`
 * would give. `limit` is `readOne`'s own (artifact_hash.ts `SMALL_FILE`).
 * Content met twice is linked once (the second link finds the name taken:
 * {@link EXISTED}), by whichever thread came first.
 *
 * @example
 * ```ts ignore
 * const { stamps, hashes } = await readAndHashMany("gen/", ["a.txt"], readOne, SMALL_FILE);
 * ```
 */
export async function readAndHashMany(
  from: string,
  paths: readonly string[],
  readOne: ReadOne,
  limit: number,
  options: ReadHashOptions = {},
): Promise<ReadHashed> {
  const n = paths.length;
  const stamps = new Array<FileStamp>(n);
  const hashes = new Array<string | undefined>(n);
  const linked = new Uint8Array(n);
  const { link } = options;
  const local = (i: number) => {
    const abs = from + paths[i];
    const { stamp, hash } = readOne(abs);
    stamps[i] = stamp;
    hashes[i] = hash;
    if (link === undefined || hash === undefined) return;
    const made = linkReadOnly(abs, link.objectPath(hash));
    linked[i] = linkCode(made);
  };
  const shared = new SharedArrayBuffer(useHelper(n, options) ? n * READ_HASH_WORDS * 8 : 0);
  const numbers = new Float64Array(shared);
  const job = {
    op: "readHash",
    paths,
    from,
    stamps: shared,
    readUpTo: limit,
    objects: link?.objects,
  } as const;
  await share(job, n, local, (i) => {
    const at = READ_HASH_WORDS * i;
    // Not read there: read (and its error met) here.
    if (Number.isNaN(numbers[at])) return local(i);
    stamps[i] = stampAt(numbers, at);
    const high = numbers[at + 4];
    hashes[i] = Number.isNaN(high) ? undefined : hex8(high) + hex8(numbers[at + 5]);
    linked[i] = numbers[at + 6];
  }, options);
  return { stamps, hashes, linked };
}

/** A 32-bit half of a hash as 8 lowercase hex digits (hash.ts writes 16 for the whole). */
function hex8(half: number): string {
  return half.toString(16).padStart(8, "0");
}

/** What {@link statAndLinkTree} found and did, per item. */
export interface StatLinked {
  /** Each source's stamp ({@link statMany}'s), undefined for one that does not exist. */
  readonly stamps: (FileStamp | undefined)[];
  /** 1 where the source was linked at its new name ({@link linkMany}'s). */
  readonly linked: Uint8Array;
}

/**
 * The files of a directory manifest to link or copy into a folder
 * ({@link statAndLinkTree}, {@link statAndCopyTree}).
 */
export interface ObjectTree {
  /** The manifest's files, in its order. */
  readonly files: readonly { readonly hash: string; readonly path: string }[];
  /** The manifest's text, whose parse is {@link ObjectTree.files}. */
  readonly manifest: string;
  /** Where the cache keeps the object of `hash` (`Cache.objectPath`, or a path equal to it). */
  readonly objectPath: (hash: string) => string;
  /**
   * The objects' directory, ending in "/", in the same form as
   * {@link ObjectTree.objectPath}'s paths (both absolute, or both relative to
   * the same directory): `objectPath(h)` is `objects + h.slice(0, 2) + "/" +
   * h.slice(2)` for a hash of hex digits.
   */
  readonly objects: string;
  /** The folder the files go in, ending in "/": file `path` is linked (or copied) at `into + path`. */
  readonly into: string;
}

/**
 * For each file of a directory manifest, in its order: the stamp of its
 * object ({@link statMany}'s), then (when the object exists) a link to the
 * object at the file's place under the folder ({@link linkMany}'s). One
 * pass instead of two lists: one message to the helper, one wait for it,
 * and each object's inode still in the kernel's cache when it is linked. A
 * stat error other than a missing object is thrown, as is `AlreadyExists`
 * at a new name, as by the two lists. The helper thread
 * is sent the manifest's text, not two lists of paths: the calling thread
 * starts on its blocks at once (making and joining 20,000 paths took it
 * ~15 ms at 10,000 files, with the helper idle), and each thread makes the
 * paths of the items it does as it does them.
 *
 * @example
 * ```ts ignore
 * const { stamps, linked } = await statAndLinkTree({
 *   files, manifest, objectPath: (h) => cache.objectPath(h), objects: cache.objectsDir,
 *   into: "out.tmp/",
 * });
 * ```
 */
export async function statAndLinkTree(
  tree: ObjectTree,
  options: ManyOptions = {},
): Promise<StatLinked> {
  const { files, objectPath, into } = tree;
  const n = files.length;
  const stamps = new Array<FileStamp | undefined>(n);
  const linked = new Uint8Array(n);
  const viaLibc = n >= LIBC_STAT_FROM;
  const local = (i: number) => {
    const { hash, path } = files[i];
    const source = objectPath(hash);
    const stamp = stamps[i] = objectStamp(source, viaLibc);
    if (stamp === undefined) return;
    linked[i] = tryHardLink(source, into + path) ? 1 : 0;
  };
  const words = stampWords("statLinkTree");
  const shared = new SharedArrayBuffer(useHelper(n, options) ? n * words * 8 : 0);
  const numbers = new Float64Array(shared);
  const sent: TreeJob = { manifest: tree.manifest, objects: tree.objects, into };
  await share({ op: "statLinkTree", tree: sent, stamps: shared }, n, local, (i) => {
    stamps[i] = stampAt(numbers, words * i);
    linked[i] = 1;
  }, options);
  return { stamps, linked };
}

/** What {@link statAndCopyTree} found and did, per item. */
export interface StatCopied {
  /** Each object's stamp ({@link statMany}'s), undefined for one that does not exist. */
  readonly stamps: (FileStamp | undefined)[];
  /**
   * The stamp of each copy made, undefined where none was: the object
   * missing, larger than {@link SMALL_COPY}, or not of the size its stamp
   * says (for the caller to copy as one file is).
   */
  readonly copies: (FileStamp | undefined)[];
}

/**
 * For each file of a directory manifest, in its order: the stamp of its
 * object ({@link statMany}'s), then (when the object exists and holds at
 * most {@link SMALL_COPY} bytes) a copy of it at the file's place under the
 * folder, read whole and written to a new file, mode 0644 whatever the
 * umask, and the copy's stamp ({@link copySmallNew}'s). A `copy`
 * checkout's one pass, on two threads as {@link statAndLinkTree}'s: the
 * stat pass before it on its own cost a helper's job and a wait, and the
 * copies (most of a `copy` checkout's time: three file-system calls each
 * and a create) ran on the calling thread alone. A stat error other than a
 * missing object is thrown, as is a copy's error (`AlreadyExists` at a new
 * name, a full disk), as by the one-thread code; a copy cut short is
 * removed, so the folder holds only whole copies and the caller removes it.
 *
 * @example
 * ```ts ignore
 * const { stamps, copies } = await statAndCopyTree({
 *   files, manifest, objectPath: (h) => cache.objectPath(h), objects: cache.objectsDir,
 *   into: "out.tmp/",
 * });
 * ```
 */
export async function statAndCopyTree(
  tree: ObjectTree,
  options: ManyOptions = {},
): Promise<StatCopied> {
  const { files, objectPath, into } = tree;
  const n = files.length;
  const stamps = new Array<FileStamp | undefined>(n);
  const copies = new Array<FileStamp | undefined>(n);
  const viaLibc = n >= LIBC_STAT_FROM;
  const local = (i: number) => {
    const { hash, path } = files[i];
    const source = objectPath(hash);
    const stamp = stamps[i] = objectStamp(source, viaLibc);
    if (stamp === undefined || stamp.size > SMALL_COPY) return;
    copies[i] = copySmallNew(source, into + path, stamp.size);
  };
  const words = stampWords("statCopyTree");
  const shared = new SharedArrayBuffer(useHelper(n, options) ? n * words * 8 : 0);
  const numbers = new Float64Array(shared);
  const sent: TreeJob = {
    manifest: tree.manifest,
    objects: tree.objects,
    into,
    copyUpTo: SMALL_COPY,
  };
  await share({ op: "statCopyTree", tree: sent, stamps: shared }, n, local, (i) => {
    const at = words * i;
    stamps[i] = stampAt(numbers, at);
    // Not copied by the helper (too large, or not of its size): the caller's.
    if (!Number.isNaN(numbers[at + 4])) copies[i] = stampAt(numbers, at + 4);
  }, options);
  return { stamps, copies };
}

function useHelper(items: number, options: ManyOptions): boolean {
  if (options.helper?.usable === false) return false;
  const from = options.parallelFrom ??
    (options.helper ? PARALLEL_FROM_STARTED : PARALLEL_FROM);
  return items > BLOCK && items >= from;
}

/**
 * Do items `0..n` of `job`: `local(i)` here, or by the helper, then
 * `remote(i)` here for each item it did; returns how many it did.
 */
async function share(
  job: ListJob,
  n: number,
  local: (i: number) => void,
  remote: (i: number) => void,
  options: ManyOptions,
): Promise<number> {
  const blocks = Math.ceil(n / BLOCK);
  const first = options.helperFirst === true;
  const thread = useHelper(n, options) ? options.helper ?? HelperThread.start() : undefined;
  let helper = thread?.post({ ...job, first }, blocks);
  // A thread started here ends with this list; one passed in is the caller's.
  const stop = () => {
    if (thread !== options.helper) thread?.close();
  };
  const late = helper === undefined && options.lateHelper !== undefined && n > BLOCK
    ? options.lateHelper
    : undefined;
  if (helper === undefined && late === undefined) {
    stop();
    for (let i = 0; i < n; i++) local(i);
    return 0;
  }
  const control = helper?.control ?? newControl(blocks);
  if (first) await helper?.started;
  const done = (b: number) => Atomics.load(control, CONTROL.blocks + b);
  const mine: boolean[] = new Array(blocks).fill(false);
  // Every block taken, the helper took some only if it was active then (it
  // marks itself active before it takes a block, and inactive after its
  // last): then wait for it to finish them.
  const helperDone = async () => {
    if (helper !== undefined && Atomics.load(control, CONTROL.active) !== 0) {
      await helper.finished;
    }
    stop();
  };
  try {
    // From the first block on (the helper takes them from the last back).
    for (let b = 0; Atomics.add(control, CONTROL.taken, 1) < blocks; b++) {
      mine[b] = true;
      for (let i = b * BLOCK; i < Math.min(n, (b + 1) * BLOCK); i++) local(i);
      // A helper that joins takes the blocks left from the last back: the
      // shared count of blocks taken keeps the two apart.
      if (helper === undefined && late !== undefined && b % LATE_CHECK === LATE_CHECK - 1) {
        helper = late()?.post(job, blocks, control);
      }
    }
  } catch (error) {
    // The helper takes no more, and is done before the caller cleans up
    // (it may be linking into the folder the caller will remove).
    Atomics.store(control, CONTROL.taken, blocks);
    await helperDone();
    throw error;
  }
  await helperDone();
  let helped = 0;
  for (let b = 0; b < blocks; b++) {
    if (mine[b]) continue;
    const start = b * BLOCK;
    const end = Math.min(n, start + BLOCK);
    // Items the helper did, then (it stopped, or never took the block) the rest here.
    const by = done(b);
    for (let i = start; i < start + by; i++) remote(i);
    for (let i = start + by; i < end; i++) local(i);
    helped += by;
  }
  mark(`${job.op} of ${n} files: ${helped} by the helper thread`);
  return helped;
}

/** A job's {@link CONTROL} words, for a job of `blocks` blocks. */
function newControl(blocks: number): Int32Array {
  return new Int32Array(new SharedArrayBuffer((CONTROL.blocks + blocks) * 4));
}

/** A job as the calling thread holds it: its lists as arrays (posted joined), or a tree. */
interface ListJob {
  readonly op: ManyOp;
  readonly readUpTo?: number;
  readonly data?: Uint8Array;
  readonly ends?: Float64Array;
  readonly paths?: readonly string[];
  readonly dests?: readonly string[];
  readonly from?: string;
  readonly objects?: string;
  readonly tree?: TreeJob;
  readonly stamps?: SharedArrayBuffer;
  readonly first?: boolean;
}

/** One job posted to a {@link HelperThread}. */
interface Posted {
  readonly control: Int32Array;
  /** With {@link ManyJob.first}: settles once the helper has taken a block (or died). */
  readonly started: Promise<void>;
  /** Settles when the helper has finished this job (or died). */
  readonly finished: Promise<void>;
}

/**
 * The helper worker of {@link statMany} and {@link linkMany}. Start one
 * ahead of a command's lists (its start, 10-30 ms, then overlaps other
 * work) and pass it in {@link ManyOptions.helper} to each: it does one job
 * at a time. `close` ends it; a helper that died is not used again (the
 * calling thread then does each list alone).
 *
 * @example
 * ```ts ignore
 * using helper = HelperThread.start();
 * const stamps = await statMany(paths, { helper });
 * ```
 */
export class HelperThread {
  readonly #worker: Worker;
  #dead = false;
  #jobs = 0;
  #job: { died(): void } | undefined;

  private constructor(worker: Worker) {
    this.#worker = worker;
    worker.onerror = (event) => {
      event.preventDefault();
      this.#dead = true;
      this.#job?.died();
    };
  }

  /** A new helper thread, or undefined where workers cannot start. */
  static start(): HelperThread | undefined {
    try {
      const url = new URL("./_stat_many_worker.ts", import.meta.url);
      return new HelperThread(new Worker(url, { type: "module" }));
    } catch {
      return undefined; // no workers here: the calling thread does it all
    }
  }

  /** False once the thread has died or been closed. */
  get usable(): boolean {
    return !this.#dead;
  }

  /**
   * Post `job` (of `blocks` blocks), with `control` when the calling thread
   * has begun taking blocks already (see {@link ManyOptions.lateHelper});
   * undefined when the thread cannot take it.
   */
  post(job: ListJob, blocks: number, control = newControl(blocks)): Posted | undefined {
    if (this.#dead) return undefined;
    // Replies carry the job's id: a job the caller finished alone (the
    // helper took no block) may still be answered after the next is posted.
    const id = ++this.#jobs;
    let started!: () => void;
    const taken = new Promise<void>((resolve) => started = resolve);
    const finished = new Promise<void>((resolve) => {
      const settle = () => {
        this.#job = undefined;
        started();
        resolve();
      };
      this.#job = {
        died: () => {
          // What it did is counted per item; the rest is done by the caller.
          Atomics.store(control, CONTROL.active, 0);
          settle();
        },
      };
      this.#worker.onmessage = ({ data }: MessageEvent<ManyReply>) => {
        if (data.id !== id) return;
        if (data.event === "done") settle();
        else started();
      };
    });
    this.#worker.postMessage(
      {
        ...job,
        id,
        paths: job.paths?.join(PATH_SEPARATOR),
        dests: job.dests?.join(PATH_SEPARATOR),
        control: control.buffer as SharedArrayBuffer,
      } satisfies ManyJob,
    );
    return { control, started: taken, finished };
  }

  /** End the thread (a job in progress is left to the caller, as if it died). */
  close(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#worker.terminate();
    this.#job?.died();
  }

  [Symbol.dispose](): void {
    this.close();
  }
}
