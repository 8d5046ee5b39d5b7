/**
 * The helper thread of stat_many.ts: takes blocks of the job (from the last
 * back) as the shared count of taken blocks allows, and does their items in
 * order, counting each one done in its
 * block's word, until no block is left or an item fails (which the calling
 * thread then does again itself, with its own error handling).
 *
 * @module
 */

import {
  BLOCK,
  CONTROL,
  LIBC_STAT_FROM,
  linkCode,
  type ManyJob,
  type ManyReply,
  NOT_COPIED,
  NOT_READ,
  PATH_SEPARATOR,
  stampWords,
  type TreeJob,
  treeObject,
} from "./_stat_many_job.ts";
import { copyFromMemory } from "./_copy_small.ts";
import {
  readSmall,
  type StatStamp,
  statStamp,
  writeNewFile,
  writeObjectUnnamed,
} from "../libc_fs.ts";
import { linkMadeReadOnly, linkReadOnly } from "./link_read_only.ts";
import { hashBytesSync } from "./hash.ts";

const scope = self as unknown as Worker;

/** Each item's path (the source, for a link) and new name, by index. */
interface Items {
  readonly count: number;
  path(i: number): string;
  dest(i: number): string;
}

/**
 * The items of a job of lists (joined paths), each relative to `from` when
 * given (a `readHash` job's files).
 */
function listItems(joined: string, joinedDests: string | undefined, from = ""): Items {
  const paths = joined.split(PATH_SEPARATOR);
  const dests = joinedDests?.split(PATH_SEPARATOR);
  return { count: paths.length, path: (i) => from + paths[i], dest: (i) => dests![i] };
}

/**
 * The items of a `linkReadOnly` job: relative paths and hashes, each full
 * path made when its item is done (short strings to send and hold: a
 * 100,000-file directory's absolute paths and object names were ~16 MB
 * joined, and as much again split). A hash that is not hex throws: that
 * item, and the rest, are left to the calling thread.
 */
function objectItems(joined: string, hashes: string, from: string, objects: string): Items {
  const paths = joined.split(PATH_SEPARATOR);
  const names = hashes.split(PATH_SEPARATOR);
  return {
    count: paths.length,
    path: (i) => from + paths[i],
    dest: (i) => {
      // No object to make of this file (`writeLink`).
      if (names[i] === "") return "";
      const object = treeObject(objects, names[i]);
      if (object === undefined) throw new Error("not an object's hash");
      return object;
    },
  };
}

/**
 * The items of a `statLinkTree` or `statCopyTree` job, each path made when
 * its item is done.
 * A hash that is not hex throws: that item, and the rest, are left to the
 * calling thread, which asks its cache where the object is.
 */
function treeItems({ manifest, objects, into }: TreeJob): Items {
  const files = (JSON.parse(manifest) as { files: { hash: string; path: string }[] }).files;
  return {
    count: files.length,
    path: (i) => {
      const path = treeObject(objects, files[i].hash);
      if (path === undefined) throw new Error("not an object's hash");
      return path;
    },
    dest: (i) => into + files[i].path,
  };
}

/** Write the stamp of `info` (mtime in ms, size, inode, device) at `numbers[at..at + 4]`. */
function put(numbers: Float64Array, at: number, info: Deno.FileInfo): void {
  numbers[at] = info.mtime?.getTime() ?? 0;
  numbers[at + 1] = info.size;
  numbers[at + 2] = info.ino ?? 0;
  numbers[at + 3] = info.dev;
}

/**
 * Read the file at `path` whole (up to `limit` bytes) through libc and write
 * its stamp and hash at `numbers[at..at + READ_HASH_WORDS]`; see
 * {@link READ_HASH_WORDS} for what is left to the calling thread (a file
 * libc could not read, a larger one, one that changed size while read).
 * With `objects`, a file hashed is then made its object
 * ({@link linkReadOnly}: the inode just read, so the stamp is the object's).
 */
function readHashInto(
  numbers: Float64Array,
  at: number,
  path: string,
  limit: number,
  objects: string | undefined,
): void {
  numbers[at + 6] = 0;
  const read = readSmall(path, limit);
  if (read === undefined) {
    numbers[at] = NOT_READ;
    return;
  }
  numbers[at] = read.mtime;
  numbers[at + 1] = read.size;
  numbers[at + 2] = read.ino;
  numbers[at + 3] = read.dev;
  if (read.bytes === undefined) {
    numbers[at + 4] = NOT_READ;
    return;
  }
  const hash = hashBytesSync(read.bytes);
  numbers[at + 4] = Number.parseInt(hash.slice(0, 8), 16);
  numbers[at + 5] = Number.parseInt(hash.slice(8), 16);
  if (objects === undefined) return;
  const object = treeObject(objects, hash);
  // Not an object's name (not hex): left to the calling thread's cache.
  if (object === undefined) return;
  const made = linkReadOnly(path, object);
  numbers[at + 6] = linkCode(made);
}

/**
 * Write the stamp of what is at `path` at `numbers[at..at + 4]` and return
 * its size: through libc's `statx` when `viaLibc` and it answers, else
 * `Deno.statSync` (which throws where it does: the item is then the calling
 * thread's).
 */
function stampInto(numbers: Float64Array, at: number, path: string, viaLibc: boolean): number {
  const fast = viaLibc ? statStamp(path) : undefined;
  if (fast === undefined) {
    const info = Deno.statSync(path);
    put(numbers, at, info);
    return info.size;
  }
  numbers[at] = fast.mtime;
  numbers[at + 1] = fast.size;
  numbers[at + 2] = fast.ino;
  numbers[at + 3] = fast.dev;
  return fast.size;
}

/**
 * A `writeLink` or `writeCopy` item's file: made with `bytes` through libc,
 * read-only with `readOnly`, its stamp written at `numbers[at..at + 4]`.
 * Throws when libc cannot make it (nothing of it is then left): that item,
 * and the rest, are left to the calling thread, whose Deno calls throw as
 * they do.
 */
function writeInto(
  numbers: Float64Array,
  at: number,
  path: string,
  bytes: Uint8Array,
  readOnly: boolean,
): void {
  const made = writeNewFile(path, bytes, readOnly);
  if (made === undefined) throw new Error("not written");
  putStamp(numbers, at, made);
}

/**
 * A `writeCopy` item's object at `object` (none when ""), written from
 * `bytes` as an unnamed file linked at its name ({@link writeObjectUnnamed}):
 * its stamp at `numbers[at..at + 4]`, else {@link NOT_COPIED} there, for the
 * calling thread to store it.
 */
function objectInto(numbers: Float64Array, at: number, object: string, bytes: Uint8Array): void {
  const made = object === "" ? undefined : writeObjectUnnamed(object, bytes);
  if (made === undefined || made === "exists") numbers[at] = NOT_COPIED;
  else putStamp(numbers, at, made);
}

function putStamp(numbers: Float64Array, at: number, stamp: StatStamp): void {
  numbers[at] = stamp.mtime;
  numbers[at + 1] = stamp.size;
  numbers[at + 2] = stamp.ino;
  numbers[at + 3] = stamp.dev;
}

function run(
  {
    id,
    op,
    paths: joined,
    dests: joinedDests,
    from,
    objects,
    tree,
    control: buffer,
    stamps,
    first,
    readUpTo,
    data,
    ends,
  }: ManyJob,
): void {
  const control = new Int32Array(buffer);
  const numbers = stamps === undefined ? undefined : new Float64Array(stamps);
  const blocks = control.length - CONTROL.blocks;
  const words = stampWords(op);
  try {
    const items = tree !== undefined
      ? treeItems(tree)
      : op === "linkReadOnly" || op === "writeLink" || op === "writeCopy"
      ? objectItems(joined!, joinedDests!, from!, objects!)
      : listItems(joined!, joinedDests, from);
    const viaLibc = (op === "stat" || op === "statLinkTree" || op === "statCopyTree") &&
      items.count >= LIBC_STAT_FROM;
    // Active from here (before taking a block), not while reading the job:
    // a caller that took every block meanwhile need not wait for that.
    Atomics.store(control, CONTROL.active, 1);
    // From the last block back (the calling thread takes them from the first on).
    for (let k = 0; Atomics.add(control, CONTROL.taken, 1) < blocks; k++) {
      const b = blocks - 1 - k;
      if (first && k === 0) scope.postMessage({ id, event: "started" } satisfies ManyReply);
      const start = b * BLOCK;
      const end = Math.min(items.count, start + BLOCK);
      for (let i = start; i < end; i++) {
        const path = items.path(i);
        const at = words * i;
        if (op === "readHash") readHashInto(numbers!, at, path, readUpTo!, objects);
        else if (op === "writeLink" || op === "writeCopy") {
          // The object's name first: what throws must come before the file
          // is made, as the calling thread makes it again.
          const object = items.dest(i);
          const bytes = data!.subarray(i === 0 ? 0 : ends![i - 1], ends![i]);
          writeInto(numbers!, at, path, bytes, op === "writeLink");
          if (op === "writeLink") {
            numbers![at + 4] = object === "" ? 0 : linkCode(linkMadeReadOnly(path, object));
          } else objectInto(numbers!, at + 4, object, bytes);
        } else if (op === "link") Deno.linkSync(path, items.dest(i));
        else if (op === "linkReadOnly") {
          // Not linked (something there, or refused): left to the calling thread.
          if (linkReadOnly(path, items.dest(i)) !== "linked") throw new Error("not linked");
        } else {
          const size = stampInto(numbers!, at, path, viaLibc);
          if (op === "statLinkTree") Deno.linkSync(path, items.dest(i));
          else if (op === "statCopyTree") {
            // A larger object (or one whose size changed) is left to the
            // calling thread, which copies it by the kernel; the rest go on.
            const copy = size <= tree!.copyUpTo!
              ? copyFromMemory(path, items.dest(i), size)
              : undefined;
            if (copy === undefined) numbers![at + 4] = NOT_COPIED;
            else put(numbers!, at + 4, copy);
          }
        }
        Atomics.store(control, CONTROL.blocks + b, i - start + 1);
      }
    }
  } catch {
    // Left to the calling thread, from this item on (and the blocks it takes from now).
  } finally {
    Atomics.store(control, CONTROL.active, 0);
  }
}

scope.onmessage = (event: MessageEvent<ManyJob>) => {
  run(event.data);
  scope.postMessage({ id: event.data.id, event: "done" } satisfies ManyReply);
};
