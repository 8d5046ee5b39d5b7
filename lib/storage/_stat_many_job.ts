/**
 * What stat_many.ts and its helper worker (_stat_many_worker.ts) share: the
 * job message and the layout of its shared control words.
 *
 * @module
 */

import type { LinkOutcome } from "./link_read_only.ts";
import { threshold } from "../test_thresholds.ts";

/**
 * Items a thread takes at once. Small enough that the calling thread, once
 * every block is taken, waits little for the one the helper is on (128
 * links: ~3 ms), large enough that taking one costs nothing beside its items.
 */
export const BLOCK = threshold(128, 4);

/** Indexes of the control words (an `Int32Array` over {@link ManyJob.control}). */
export const CONTROL = {
  /**
   * Blocks taken so far, by either thread: the calling thread takes blocks
   * from the first on, the helper from the last back, so that the two work
   * in different directories (creating names in one directory from two
   * threads contends for its lock) and meet once.
   */
  taken: 0,
  /** 1 while the helper is taking or doing blocks. */
  active: 1,
  /** Per block from here: how many of its items the helper has done. */
  blocks: 2,
} as const;

/**
 * What is done per item: `stat` a path; `link` a source at a new name;
 * `statLinkTree` both (the source's stamp, then the link) for the files of
 * a directory manifest ({@link TreeJob}: a `hardlink` checkout's one
 * pass over a directory's objects); `statCopyTree` likewise with a copy
 * instead of the link (a `copy` checkout's pass: the object's stamp, then,
 * for an object of at most {@link TreeJob.copyUpTo} bytes, a copy from
 * memory and the copy's stamp); `linkReadOnly` a source at a new name, made
 * read-only (a directory's new cache objects, each a link to its file:
 * lib/storage/link_read_only.ts); `readHash` a file of a directory read
 * whole (up to {@link ManyJob.readUpTo} bytes) and hashed, its stamp and
 * hash written back ({@link READ_HASH_WORDS}: the store of a large
 * directory out); `writeLink` a file made read-only with its content from
 * {@link ManyJob.data}, its stamp written back, then, where its object's
 * hash is given, linked at the object's name ({@link WRITE_LINK_WORDS}: the
 * store of a large directory a stage returned, `loaders.files()`, in
 * `hardlink` mode); `writeCopy` a file made writable with its content from
 * {@link ManyJob.data}, and, where its object's hash is given, the object
 * written from the same bytes ({@link WRITE_COPY_WORDS}: the same store in
 * `copy` mode).
 */
export type ManyOp =
  | "stat"
  | "link"
  | "statLinkTree"
  | "statCopyTree"
  | "linkReadOnly"
  | "readHash"
  | "writeLink"
  | "writeCopy";

/**
 * A `statLinkTree` or `statCopyTree` job's items: for each file of a
 * directory manifest, in its order, the file's object stat-ed and linked
 * (or copied) at the file's path under a folder. Sent as the manifest's
 * text (one string copied; the helper parses it on its own core) and two
 * prefixes, so the calling thread builds no list of paths before the helper
 * can start.
 */
export interface TreeJob {
  /** A directory manifest's text (`{"files":[{"hash":…,"path":…},…]}`). */
  readonly manifest: string;
  /** The cache's objects directory, ending in "/" (see {@link treeObject}). */
  readonly objects: string;
  /** The folder the files are linked (or copied) into, ending in "/". */
  readonly into: string;
  /**
   * `statCopyTree`: objects up to this size are copied; a larger one is
   * stat-ed only and left to the calling thread to copy (its copy's stamp
   * is then {@link NOT_COPIED}).
   */
  readonly copyUpTo?: number;
}

/**
 * Numbers per item in a job's stamps: a `stat` or `statLinkTree` item's
 * stamp (mtime in ms, size, inode, device); a `statCopyTree` item's
 * object's stamp, then its copy's.
 */
export function stampWords(op: ManyOp): number {
  return op === "statCopyTree"
    ? 8
    : op === "readHash"
    ? READ_HASH_WORDS
    : op === "writeLink"
    ? WRITE_LINK_WORDS
    : op === "writeCopy"
    ? WRITE_COPY_WORDS
    : 4;
}

/**
 * Numbers per `writeCopy` item: the stamp of the file as written (mtime in
 * ms, size, inode, device), then its object's when it was made here (the
 * mtime {@link NOT_COPIED} when not: no hash given, something at the
 * object's name already, or no unnamed files on this filesystem; the
 * calling thread then stores it).
 */
export const WRITE_COPY_WORDS = 8;

/**
 * Numbers per `writeLink` item: the stamp of the file as written (mtime in
 * ms, size, inode, device), then what linking it at its object's name did
 * (`LINKED`, `EXISTED` or 0: refused, or no object's hash given).
 */
export const WRITE_LINK_WORDS = 5;

/**
 * Numbers per `readHash` item: the stamp of the file as it was read (mtime
 * in ms, size, inode, device; the mtime {@link NOT_READ} where the helper
 * could not read it, which leaves the whole item to the calling thread),
 * then its xxhash64 as two 32-bit halves, high first (the high half
 * {@link NOT_READ} where the file is larger than {@link ManyJob.readUpTo} or
 * changed size while read: the caller hashes it as a stream, with the stamp
 * given), then, with {@link ManyJob.objects}, what linking it at its
 * object's name did (`LINKED`, `EXISTED` or 0, as `linkReadOnlyMany`
 * answers; 0 for a file not hashed).
 */
export const READ_HASH_WORDS = 7;

/** `linkReadOnlyMany`'s (and a linking `readHash`'s) outcome of an item: linked, made read-only. */
export const LINKED = 1;
/** `linkReadOnlyMany`'s (and a linking `readHash`'s) outcome: something was at its new name already. */
export const EXISTED = 2;

/** The outcome word ({@link LINKED}, {@link EXISTED} or 0) of what `linkReadOnly` answered. */
export function linkCode(made: LinkOutcome): number {
  return made === "linked" ? LINKED : made === "exists" ? EXISTED : 0;
}

/** A `readHash` item's word left for the calling thread (see {@link READ_HASH_WORDS}). */
export const NOT_READ = Number.NaN;

/**
 * A `statCopyTree` copy's mtime when the item was stat-ed but not copied (left to the caller);
 * a `writeCopy` object's when it was not made.
 */
export const NOT_COPIED = Number.NaN;

/**
 * The object of `hash` under `objects`, as `Cache.objectPath` makes it for a
 * hash of hex digits; undefined for any other (the calling thread then asks
 * the cache itself).
 */
export function treeObject(objects: string, hash: string): string | undefined {
  return HEX.test(hash) ? `${objects}${hash.slice(0, 2)}/${hash.slice(2)}` : undefined;
}

const HEX = /^[0-9a-f]+$/;

/**
 * Paths are sent as one string, joined by NUL (which no path holds): a
 * structured clone of one string is a copy of its bytes, where an array of
 * 20,000 strings costs the sending thread ~5 ms to serialise (and the helper
 * as much to read back).
 */
export const PATH_SEPARATOR = "\0";

/** What the helper is asked to do. */
export interface ManyJob {
  /** Told back with each message about this job (a helper thread does one job after another). */
  readonly id: number;
  readonly op: ManyOp;
  /**
   * `stat`: the paths; `link`, `linkReadOnly`: the sources; `readHash`: the
   * files, relative to {@link ManyJob.from}; joined by {@link PATH_SEPARATOR}.
   */
  readonly paths?: string;
  /**
   * `link`: the new names, one per source, joined likewise; `linkReadOnly`:
   * the objects' hashes, whose objects under {@link ManyJob.objects} are
   * the new names (see {@link treeObject}); `writeLink` and `writeCopy`
   * likewise, an empty one for a file with no object to make.
   */
  readonly dests?: string;
  /** `linkReadOnly`, `readHash`, `writeLink`, `writeCopy`: what each of {@link ManyJob.paths} is relative to, ending in "/". */
  readonly from?: string;
  /**
   * `linkReadOnly`, and `readHash` when its files are made objects as they
   * are hashed: the cache's objects directory, ending in "/".
   */
  readonly objects?: string;
  /** The {@link CONTROL} words. */
  readonly control: SharedArrayBuffer;
  /** `statLinkTree`, `statCopyTree`: the manifest and where its files go. */
  readonly tree?: TreeJob;
  /**
   * `stat`, `statLinkTree`, `statCopyTree`, `readHash`: the stamps (and
   * hashes), {@link stampWords} numbers per item.
   */
  readonly stamps?: SharedArrayBuffer;
  /** `readHash`: files up to this size are read whole and hashed; a larger one is stat-ed only. */
  readonly readUpTo?: number;
  /**
   * `writeLink`, `writeCopy`: every file's content, one after another (over a
   * `SharedArrayBuffer`: posting it copies nothing).
   */
  readonly data?: Uint8Array;
  /** `writeLink`, `writeCopy`: where each file's content ends in {@link ManyJob.data}. */
  readonly ends?: Float64Array;
  /** Post "started" once its first block is taken (the caller waits for it: tests). */
  readonly first?: boolean;
}

/** What the helper tells about job `id`: it took its first block ({@link ManyJob.first}), or is done. */
export interface ManyReply {
  readonly id: number;
  readonly event: "started" | "done";
}

/**
 * `stat` lists from this long are stat-ed through libc's `statx`, on both
 * threads (lib/libc_fs.ts `statStamp`: ~1.6 µs a file less than
 * `Deno.statSync`; binding libc costs ~2.5 ms once a thread).
 */
export const LIBC_STAT_FROM = threshold(4_096, 128);
