/**
 * A hash started before it is asked for: when the launcher's no-op gate
 * (lib/noop_stamps.ts) finds a path's stamp changed, a `repro` or `status`
 * that goes to the child will hash that file (a touched dep, say) once it
 * has loaded its modules, opened the state store, loaded the pipeline and
 * checked the lock files: ~30 ms of start-up, in which the file could have
 * been read. So the launcher names the path to its child
 * ({@link PREHASH_ENV}), and the child starts hashing it ({@link prehash})
 * before it loads anything else: the reads run on Deno's I/O thread and the
 * hash between the start-up's own steps, on the main thread.
 *
 * The hash is used only by the one who asks for that file's hash first
 * ({@link takePrehash}), and only when the file's stamp (mtime, size, inode)
 * was the same when it was opened, when its last byte was read, and when the
 * asker stat-ed it: the same version of the file the asker would have read.
 * Otherwise the asker reads it as it always did: nothing is read twice that
 * did not change in between.
 *
 * @module
 */

import { type Hash, hashFileWith } from "./hash.ts";
import { mark } from "../trace.ts";

/** A stamp as compared here: mtime (ms), size, inode. */
interface Stamp {
  readonly mtime: number;
  readonly size: number;
  readonly ino: number;
}

/** Files smaller than this are not worth an early start (they hash in a few ms). */
export const PREHASH_FROM = 16 << 20;

/** The hashes started, by absolute path, each until taken. */
const started = new Map<string, Promise<{ stamp: Stamp; hash: Hash } | undefined>>();

function stampOf(info: Deno.FileInfo): Stamp {
  return { mtime: info.mtime?.getTime() ?? 0, size: info.size, ino: info.ino ?? 0 };
}

function same(a: Stamp, b: Stamp): boolean {
  return a.mtime === b.mtime && a.size === b.size && a.ino === b.ino;
}

/**
 * Start hashing the file at `abs` (absolute), unless it is not a regular
 * file of at least {@link PREHASH_FROM} bytes. Never throws: a file that
 * cannot be read is left to the asker, who reports it as it always did.
 */
export function prehash(abs: string, from = PREHASH_FROM): void {
  let before: Stamp;
  try {
    const info = Deno.statSync(abs);
    if (!info.isFile || info.size < from) return;
    before = stampOf(info);
  } catch {
    return;
  }
  mark(`prehash: ${abs}`);
  started.set(
    abs,
    hashFileWith(abs, {}).then((hash) => {
      // Changed while it was read: the asker reads it again.
      const after = stampOf(Deno.statSync(abs));
      return same(before, after) ? { stamp: after, hash } : undefined;
    }).catch(() => undefined),
  );
}

/**
 * The hash of the file at `abs` started by {@link prehash}, once: undefined
 * (at once) when none was started; else a promise of it, or of undefined
 * when the file did not keep `stamp` (the asker's stat, taken before this
 * call) all along: then hash it.
 */
export function takePrehash(abs: string, stamp: Stamp): Promise<Hash | undefined> | undefined {
  if (started.size === 0) return undefined;
  const early = started.get(abs);
  if (early === undefined) return undefined;
  started.delete(abs);
  return early.then((got) => {
    const used = got !== undefined && same(got.stamp, stamp);
    mark(`prehash: ${abs} ${used ? "used" : "not used (the file changed)"}`);
    return used ? got.hash : undefined;
  });
}

/** True when a hash of `abs` was started and not yet taken (for tests). */
export function prehashPending(abs: string): boolean {
  return started.has(abs);
}
