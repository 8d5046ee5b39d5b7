/**
 * A small file copied from memory to a new file, as copy.ts's
 * `copySmallNew` and the helper thread of stat_many.ts (which imports this
 * alone: a worker's start grows with its modules) both do it.
 *
 * @module
 */

/**
 * Copy the file `source`, expected to hold `size` bytes, to a new file
 * `dest` (where nothing is), mode 0644 whatever the umask; returns the
 * copy's `FileInfo`. Undefined (and nothing made) when `source` does not
 * hold `size` bytes now. Nothing is left at `dest` when it throws (but what
 * was there already, with `AlreadyExists`).
 *
 * Three Deno calls: `readFileSync` (open, fstat, read to the end, close),
 * `writeFileSync` with `createNew` and `mode` (open, `fchmod` to the mode,
 * so the umask cannot narrow it, write, close), and `statSync` of the copy.
 * Each call into Deno costs the thread more than the system calls it makes
 * for a file this small: opening, reading, writing and `fstat`-ing through
 * file handles is eight calls, and took ~1.8× the user time for 10,000
 * files (docs/performance.md, "Copy checkout of a directory, twelfth
 * session").
 *
 * @throws {Deno.errors.AlreadyExists} when something is at `dest`.
 */
export function copyFromMemory(
  source: string,
  dest: string,
  size: number,
): Deno.FileInfo | undefined {
  const bytes = Deno.readFileSync(source);
  if (bytes.length !== size) return undefined;
  try {
    Deno.writeFileSync(dest, bytes, { createNew: true, mode: 0o644 });
    return Deno.statSync(dest);
  } catch (error) {
    // Something else was there: not ours to remove. Otherwise a copy cut
    // short (a full disk) goes, so that whoever tries this file again (the
    // calling thread, after the helper's failure) meets the same error,
    // not the half-written copy.
    if (!(error instanceof Deno.errors.AlreadyExists)) {
      try {
        Deno.removeSync(dest);
      } catch {
        // Never made.
      }
    }
    throw error;
  }
}
