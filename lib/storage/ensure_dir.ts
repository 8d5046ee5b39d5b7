/**
 * `mkdir -p` that remembers what it made. Creating directories is slow on
 * some filesystems (~0.3 ms a call on this project's CI disks), and a run
 * asks for the same few parents (`out/`, the cache's `ab/` fan-out) over and
 * over; each is created at most once per process.
 *
 * Only for directories Pivot owns or creates for outs: if one is removed
 * behind Pivot's back, callers see ENOENT from their next operation, and
 * {@link forgetDir} lets them retry.
 *
 * @module
 */

const known = new Set<string>();

/** Create `dir` and its parents unless this process already did. */
export function ensureDir(dir: string): void {
  if (known.has(dir)) return;
  Deno.mkdirSync(dir, { recursive: true });
  known.add(dir);
}

/** {@link ensureDir}, the directories made on Deno's blocking pool. */
export async function ensureDirAsync(dir: string): Promise<void> {
  if (known.has(dir)) return;
  await Deno.mkdir(dir, { recursive: true });
  known.add(dir);
}

/** Forget `dir` and everything under it (after removing it). */
export function forgetDir(dir: string): void {
  for (const path of known) {
    if (path === dir || path.startsWith(dir + "/")) known.delete(path);
  }
}

/**
 * Forget every directory whose path starts with the string `prefix`
 * (`/s/o3~` forgets `/s/o3~gen` and `/s/o3~data/raw`): names given up.
 */
export function forgetDirsFrom(prefix: string): void {
  for (const path of known) {
    if (path.startsWith(prefix)) known.delete(path);
  }
}

/** Remember that the directory `from` was renamed to `to` (with what it holds). */
export function movedDir(from: string, to: string): void {
  for (const path of known) {
    if (path === from || path.startsWith(from + "/")) {
      known.delete(path);
      known.add(to + path.slice(from.length));
    }
  }
}

/** Remove whatever is at `path` (file, symlink or directory), forgetting the directories there. */
export function removePath(path: string): void {
  forgetDir(path);
  try {
    Deno.removeSync(path, { recursive: true });
  } catch (error) {
    if (!(error instanceof Deno.errors.NotFound)) throw error;
  }
}

/** Forget every directory (at the start of a wave: the user may have removed some). */
export function forgetAllDirs(): void {
  known.clear();
}
