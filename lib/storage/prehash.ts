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
 * did not change in between. The asker may remember it with that stamp only
 * when it was `settled`: not racy by a clock marker written before the read
 * began (lib/storage/state.ts, `isRacy`). The child's own marker, written
 * when its state store opens, comes after the read started: a rewrite
 * within one tick of the filesystem's clock during the read could keep the
 * stamp. So the child writes a marker first ({@link startPrehash}).
 *
 * The launcher may also have hashed files itself (a touched file whose
 * content its gate compared, lib/cli/gate_rehash.ts): those hashes are
 * handed over with their stamps and whether they were settled by the
 * launcher's own marker, and given to the asker as an early hash is.
 *
 * @module
 */

import { type Hash, hashFileWith } from "./hash.ts";
import { type FileStamp, isRacy, markClock, racyClock, sameStamp, stampOf } from "./state.ts";
import { mark } from "../trace.ts";

/** Files smaller than this are not worth an early start (they hash in a few ms). */
export const PREHASH_FROM = 16 << 20;

/** An early hash: the stamp the file kept while it was read, and whether that was settled. */
export interface EarlyHash {
  readonly hash: Hash;
  /** Not racy by a clock marker written before the read: the asker may remember it. */
  readonly settled: boolean;
}

/** What the launcher hands its child in `PIVOT_PREHASH` (JSON). */
export interface PrehashRequest {
  /** The project's state directory, for the clock marker written before {@link path} is read. */
  readonly stateDir?: string;
  /** A file to hash at once. */
  readonly path?: string;
  /** Files the launcher hashed: path, mtime, size, inode, hash, settled. */
  readonly hashed?: readonly (readonly [string, number, number, number, Hash, boolean])[];
}

/** The hashes started or given, by absolute path, each until taken. */
const started = new Map<string, Promise<{ stamp: FileStamp; early: EarlyHash } | undefined>>();

/**
 * Take up the launcher's request (`value`, see {@link PrehashRequest}): the
 * hashes it read are kept for their askers, and the file it names is
 * hashed from now on, after a clock marker is written in the state
 * directory. Never throws: a request that does not parse is ignored.
 */
export function startPrehash(value: string): void {
  let request: PrehashRequest;
  try {
    request = JSON.parse(value);
  } catch {
    return;
  }
  for (const [abs, mtime, size, ino, hash, settled] of request.hashed ?? []) {
    started.set(abs, Promise.resolve({ stamp: { mtime, size, ino }, early: { hash, settled } }));
  }
  if (request.path === undefined) return;
  if (request.stateDir !== undefined) markClock(request.stateDir);
  prehash(request.path);
}

/**
 * Start hashing the file at `abs` (absolute), unless it is not a regular
 * file of at least `from` bytes. Never throws: a file that cannot be read
 * is left to the asker, who reports it as it always did. The hash is
 * settled when the stamp the file had at the start was not racy by the
 * clock marker of this process written before (none: the wall clock's rule).
 */
export function prehash(abs: string, from = PREHASH_FROM): void {
  let before: FileStamp;
  // Read before the stat: see isRacy.
  const clock = racyClock();
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
      if (!sameStamp(before, after)) return undefined;
      return { stamp: after, early: { hash, settled: !isRacy(before, clock) } };
    }).catch(() => undefined),
  );
}

/**
 * The hash of the file at `abs` started by {@link prehash} or given by the
 * launcher, once: undefined (at once) when there is none; else a promise of
 * it, or of undefined when the file did not keep `stamp` (the asker's stat,
 * taken before this call) all along: then hash it.
 */
export function takePrehash(
  abs: string,
  stamp: FileStamp,
): Promise<EarlyHash | undefined> | undefined {
  if (started.size === 0) return undefined;
  const early = started.get(abs);
  if (early === undefined) return undefined;
  started.delete(abs);
  return early.then((got) => {
    const used = got !== undefined && sameStamp(got.stamp, stamp);
    mark(`prehash: ${abs} ${used ? "used" : "not used (the file changed)"}`);
    return used ? got.early : undefined;
  });
}

/** True when a hash of `abs` was started and not yet taken (for tests). */
export function prehashPending(abs: string): boolean {
  return started.has(abs);
}
