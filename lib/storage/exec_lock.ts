/**
 * Per-stage execution locks, so that two `pivot` processes on one project
 * never run (or restore, or commit) the same stage at once. A lock is a file
 * created with O_EXCL holding the owner's pid and host; a lock whose owner
 * process is gone (same host, no such pid) is stale and is taken over.
 *
 * @module
 */

import { join } from "node:path";
import { ensureDir } from "./ensure_dir.ts";

interface Owner {
  readonly pid: number;
  readonly host: string;
  readonly since: number;
}

/** A held lock; release it when done. */
export interface HeldLock {
  /** Remove the lock file. */
  release(): Promise<void>;
}

function alive(pid: number): boolean {
  try {
    Deno.statSync(`/proc/${pid}`);
    return true;
  } catch {
    // Without /proc (macOS), assume alive unless kill(0) says otherwise.
    if (Deno.build.os === "linux") return false;
    try {
      Deno.kill(pid, "SIGCONT");
      return true;
    } catch {
      return false;
    }
  }
}

function tryCreate(path: string): boolean {
  const owner: Owner = { pid: Deno.pid, host: Deno.hostname(), since: Date.now() };
  try {
    // Sync: taken once per stage that runs; see lib/storage/cache.ts.
    Deno.writeTextFileSync(path, JSON.stringify(owner), { createNew: true });
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.AlreadyExists) return false;
    throw error;
  }
}

/** The lock's content if its owner is gone, else undefined. */
async function staleContent(path: string): Promise<string | undefined> {
  let text: string;
  try {
    text = await Deno.readTextFile(path);
  } catch {
    return undefined; // released meanwhile
  }
  let owner: Owner;
  try {
    owner = JSON.parse(text);
  } catch {
    // Half-written by a process that died between create and write: stale
    // only if it stays that way (the writer may be mid-write).
    const info = await Deno.stat(path).catch(() => undefined);
    const old = info !== undefined && Date.now() - (info.mtime?.getTime() ?? 0) > 5_000;
    return old ? text : undefined;
  }
  const stale = owner.host === Deno.hostname() && owner.pid !== Deno.pid && !alive(owner.pid);
  return stale ? text : undefined;
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

/**
 * Take the execution lock `name` in `dir`, waiting while another live process
 * holds it. `onWait` is called once if it has to wait. Rejects if `signal`
 * fires while waiting.
 */
export async function acquireExecLock(
  dir: string,
  name: string,
  options: { signal?: AbortSignal; onWait?: (owner: string) => void } = {},
): Promise<HeldLock> {
  ensureDir(dir);
  const path = join(dir, `${encodeURIComponent(name)}.lock`);
  let delay = 10;
  let told = false;
  while (true) {
    options.signal?.throwIfAborted();
    if (tryCreate(path)) {
      return {
        release: () => {
          try {
            Deno.removeSync(path);
          } catch {
            // already gone
          }
          return Promise.resolve();
        },
      };
    }
    const stale = await staleContent(path);
    if (stale !== undefined) {
      await breakStale(path, stale);
      continue;
    }
    if (!told) {
      told = true;
      const owner = await Deno.readTextFile(path).catch(() => "?");
      options.onWait?.(owner);
    }
    await new Promise((resolve) => setTimeout(resolve, delay));
    delay = Math.min(delay * 2, 200);
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
    const owner = await Deno.readTextFile(path).catch(() => undefined);
    if (owner === undefined || (await staleContent(path)) !== undefined) continue;
    try {
      if (JSON.parse(owner).pid === Deno.pid) continue;
    } catch {
      // half-written: a live process is creating it
    }
    held.push({ name: decodeURIComponent(entry.name.slice(0, -".lock".length)), owner });
  }
  return held;
}
