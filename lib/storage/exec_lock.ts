/**
 * Per-stage execution locks, so that two `pivot` processes on one project
 * never run (or restore, or commit) the same stage at once. A lock is a file
 * created with O_EXCL holding its owner's identity: pid, host, and on Linux
 * the process's start time and boot id (`lib/process_identity.ts`). A lock
 * whose owner has ended is stale and is taken over; "ended" includes a pid
 * now given to another process (after a reboot or a container restart), which
 * a pid alone could not tell.
 *
 * While a process holds a lock in a directory, its next lock there is a hard
 * link to the one it holds (the same identity, so the same bytes): making a
 * file costs 0.3–0.45 ms of kernel time on this project's disks, a link about
 * 10 µs, and a run on a chain takes a stage's lock while it still holds the
 * previous stage's (docs/performance.md, "176-stage full run, sixth session").
 * Where links cannot be made, a file is created as before.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import {
  parseIdentity,
  type ProcessIdentity,
  processState,
  selfIdentity,
} from "../process_identity.ts";
import { ensureDir } from "./ensure_dir.ts";

/** What a lock file holds. */
export interface LockOwner extends ProcessIdentity {
  /**
   * When the lock was taken, ms since the epoch; for a lock linked to
   * another this process held, when that one was taken.
   */
  readonly since: number;
}

/** A held lock; release it when done. */
export interface HeldLock {
  /** Remove the lock file. */
  release(): Promise<void>;
}

/** Who holds a lock that an acquire waits for. */
export interface LockHolder {
  /** The lock file. */
  readonly path: string;
  /** Its owner, when the file says (undefined: unreadable or not yet written). */
  readonly owner: LockOwner | undefined;
  /** Whether the owner runs here, or on another host (where nothing here can check). */
  readonly where: "here" | "elsewhere";
}

/** A lock that cannot be taken or checked: the lock path is unusable. */
export class ExecLockError extends Error {
  override name = "ExecLockError";
}

/** The lock files this process holds, by directory. */
const heldIn = new Map<string, Set<string>>();

function tryCreate(dir: string, path: string): boolean {
  const held = heldIn.get(dir);
  const source = held?.values().next().value;
  if (source !== undefined) {
    try {
      Deno.linkSync(source, path);
      return true;
    } catch (error) {
      if (error instanceof Deno.errors.AlreadyExists) return false;
      // No links on this filesystem, or the file is gone: make one below.
    }
  }
  const owner: LockOwner = { ...selfIdentity(), since: Date.now() };
  try {
    // Sync: taken once per stage that runs; see lib/storage/cache.ts.
    Deno.writeTextFileSync(path, JSON.stringify(owner), { createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw new ExecLockError(`cannot create the lock file ${path}: ${(error as Error).message}`, {
      cause: error,
    });
  }
}

/** What the lock at `path` says now. */
type Reading =
  | { readonly kind: "released" }
  | { readonly kind: "stale"; readonly text: string }
  | { readonly kind: "held"; readonly holder: LockHolder };

async function readLock(path: string): Promise<Reading> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return { kind: "released" };
    throw new ExecLockError(
      `cannot read the lock file ${path}: ${
        (error as Error).message
      }: remove it if no pivot process is running`,
      { cause: error },
    );
  }
  let owner: LockOwner | undefined;
  try {
    const value = JSON.parse(text);
    const identity = parseIdentity(value);
    if (identity !== undefined) owner = { ...identity, since: Number(value.since) || 0 };
  } catch {
    // not JSON: below
  }
  if (owner === undefined) {
    // Half-written by a process that died between create and write (or
    // edited by hand): stale only if it stays that way (the writer may be
    // mid-write).
    const info = await Deno.stat(path).catch(() => undefined);
    const old = info !== undefined && Date.now() - (info.mtime?.getTime() ?? 0) > 5_000;
    return old ? { kind: "stale", text } : { kind: "held", holder: { path, owner, where: "here" } };
  }
  const state = processState(owner);
  if (state === "gone") return { kind: "stale", text };
  return { kind: "held", holder: { path, owner, where: state === "alive" ? "here" : "elsewhere" } };
}

/**
 * Remove a stale lock. Two processes may find the same stale lock; the
 * loser's rename could then take the winner's fresh lock instead, so the
 * renamed file is checked and, if it is not the stale one, put back.
 */
async function breakStale(path: string, stale: string): Promise<void> {
  const aside = `${path}.stale.${Deno.pid}`;
  try {
    await Deno.rename(path, aside);
  } catch {
    return; // someone else broke it
  }
  const taken = await Deno.readTextFile(aside).catch(() => stale);
  if (taken !== stale) await Deno.link(aside, path).catch(() => {});
  await Deno.remove(aside).catch(() => {});
}

/** The file of lock `name` in `dir`, which is made if missing. */
function execLockPath(dir: string, name: string): string {
  try {
    ensureDir(dir);
  } catch (error) {
    throw new ExecLockError(`cannot make the lock directory ${dir}: ${(error as Error).message}`, {
      cause: error,
    });
  }
  return join(dir, `${encodeURIComponent(name)}.lock`);
}

/** A lock just made at `path` in `dir`, noted as held by this process (see tryCreate). */
function heldAt(dir: string, path: string): HeldLock {
  const held = heldIn.get(dir) ?? new Set();
  held.add(path);
  heldIn.set(dir, held);
  return {
    release: () => {
      // Forgotten first: never linked to once it may be gone.
      held.delete(path);
      try {
        Deno.removeSync(path);
      } catch {
        // already gone
      }
      return Promise.resolve();
    },
  };
}

/**
 * Take the execution lock `name` in `dir` if no one holds it now, without
 * waiting: undefined when it is held, or left by a process that ended (for
 * {@link acquireExecLock}, which waits or breaks it). Throws as
 * {@link acquireExecLock} does when the lock file cannot be created.
 */
export function tryExecLock(dir: string, name: string): HeldLock | undefined {
  const path = execLockPath(dir, name);
  return tryCreate(dir, path) ? heldAt(dir, path) : undefined;
}

/**
 * Take the execution lock `name` in `dir`, waiting while another live process
 * holds it. `onWait` is called once if it has to wait, with the holder.
 *
 * @throws the signal's reason if `signal` fires while waiting;
 * {@link ExecLockError} when the lock file cannot be created or read (the
 * lock directory is not a directory, the path is a directory, …).
 */
export async function acquireExecLock(
  dir: string,
  name: string,
  options: { signal?: AbortSignal; onWait?: (holder: LockHolder) => void } = {},
): Promise<HeldLock> {
  const path = execLockPath(dir, name);
  let delay = 10;
  let told = false;
  while (true) {
    options.signal?.throwIfAborted();
    if (tryCreate(dir, path)) return heldAt(dir, path);
    const reading = await readLock(path);
    if (reading.kind === "stale") {
      await breakStale(path, reading.text);
      continue;
    }
    if (reading.kind === "held" && !told) {
      told = true;
      options.onWait?.(reading.holder);
    }
    if (reading.kind === "held") {
      await new Promise((resolve) => setTimeout(resolve, delay));
      delay = Math.min(delay * 2, 200);
    }
  }
}

/**
 * The execution locks in `dir` that a live process other than this one
 * holds (stale ones, whose owner is gone, are left out): for commands that
 * must not work while a run is in progress (`pivot gc`).
 *
 * @example
 * ```ts
 * const held = await liveExecLocks(join(project.tmpDir, "locks"));
 * // [{ name: "train.lock", owner: '{"pid":4242,"host":"box","since":…}' }]
 * ```
 */
export async function liveExecLocks(dir: string): Promise<{ name: string; owner: string }[]> {
  const held: { name: string; owner: string }[] = [];
  let entries: Deno.DirEntry[];
  try {
    entries = [...Deno.readDirSync(dir)];
  } catch (error) {
    if (error instanceof Deno.errors.NotFound) return held;
    throw error;
  }
  for (const entry of entries) {
    if (!entry.isFile || !entry.name.endsWith(".lock")) continue;
    const path = join(dir, entry.name);
    const reading = await readLock(path).catch(() => undefined);
    if (reading?.kind !== "held") continue;
    const { owner } = reading.holder;
    if (owner?.pid === Deno.pid && reading.holder.where === "here") continue;
    const text = await Deno.readTextFile(path).catch(() => "");
    held.push({ name: decodeURIComponent(entry.name.slice(0, -".lock".length)), owner: text });
  }
  return held;
}

/**
 * One line about a lock being waited for: whose it is and how to clear it
 * (for messages that start with what waits).
 *
 * @example
 * ```ts
 * describeHolder({ path: "/p/.pivot/tmp/locks/train.lock", owner: undefined, where: "here" });
 * ```
 */
export function describeHolder(holder: LockHolder, shownPath: string = holder.path): string {
  const { owner } = holder;
  const who = owner === undefined
    ? "a pivot process (the lock file is not readable yet)"
    : `pivot process ${owner.pid}${holder.where === "elsewhere" ? ` on host '${owner.host}'` : ""}${
      owner.since > 0 ? ` since ${new Date(owner.since).toISOString()}` : ""
    }`;
  return `held by ${who} (${shownPath}); if no pivot process is running${
    holder.where === "elsewhere" ? ` on '${owner?.host}'` : ""
  }, remove that file`;
}
