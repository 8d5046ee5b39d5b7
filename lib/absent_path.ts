/**
 * Whether nothing is at a path, told without a failing `stat`. Inside the
 * engine a failing `Deno.statSync` costs ~0.1 ms of the main thread (the
 * `NotFound` error it builds, whose stack V8 captures in detail from deep in
 * async code), against ~25 µs in a small script; a first run makes two a
 * stage (the lock file, the cache object), ~35 ms at 176 stages. Asked
 * through libc's `access`, the same answer costs ~2 µs.
 *
 * Linux with glibc only, through FFI, and only when FFI is already allowed
 * (the CLI's child runs with `-A`): elsewhere {@link surelyAbsent} is always
 * false and callers `stat` as before. Binding libc costs ~2.5 ms once, so
 * {@link statIfPresent} asks it only after this process has met an absent
 * path: a run where every lock file and object exists never binds it.
 *
 * @module
 */

import { bindLibc } from "./libc.ts";
import { statOrUndefined } from "./paths.ts";

/** `errno` for "no such file or directory" on Linux. */
const ENOENT = 2;

interface Libc {
  /** `access(path, F_OK)`: 0 when something is there. */
  readonly access: (path: Uint8Array) => number;
  /** This thread's `errno`. */
  readonly errno: () => number;
}

let libc: Libc | null | undefined;

function bind(): Libc | null {
  const lib = bindLibc({
    access: { parameters: ["buffer", "i32"], result: "i32" },
    __errno_location: { parameters: [], result: "pointer" },
  });
  if (lib === null) return null;
  return {
    access: (path) => lib.access(path, 0),
    errno: () => {
      const at = lib.__errno_location();
      return at === null ? -1 : new Deno.UnsafePointerView(at).getInt32();
    },
  };
}

const encoder = new TextEncoder();

/**
 * True when nothing is at `path` (following symlinks, as `Deno.statSync`
 * does: a dangling symlink is absent), so that a `stat` would throw
 * `NotFound`. False when something is there, when the answer is another
 * error (a permission, a file where a directory should be: the caller's
 * `stat` then throws it as before), or when it cannot be told here.
 */
export function surelyAbsent(path: string): boolean {
  if (libc === null) return false;
  libc ??= bind();
  // A NUL would end the C string early: another path.
  if (libc === null || path.includes("\0")) return false;
  return libc.access(encoder.encode(path + "\0")) !== 0 && libc.errno() === ENOENT;
}

/** Paths {@link statIfPresent} found absent by a failing `stat` in this process. */
let misses = 0;

/**
 * {@link statOrUndefined}: `Deno.statSync(path)`, or undefined when nothing
 * is there (other errors are thrown). Once one path was found absent in
 * this process, absence is told by {@link surelyAbsent} first: for what is
 * often absent (a lock file or cache object before a stage's first run).
 */
export function statIfPresent(path: string): Deno.FileInfo | undefined {
  if (misses > 0 && surelyAbsent(path)) return undefined;
  const info = statOrUndefined(path);
  if (info === undefined) misses++;
  return info;
}
