/**
 * A touched file answered in the launcher: when the no-op gate
 * (lib/noop_stamps.ts) finds that every path a no-op compares still has its
 * recorded stamp but a few files whose stamp changed and not their size
 * (`touch`, a checkout that rewrote the same bytes, a copy over them), only
 * their content can tell whether the stages are still up to date. The
 * launcher hashes them itself ({@link rehashTouched}), with the hasher the
 * decision uses: when every hash is the one recorded, the gate holds and the
 * launcher's attempt answers the no-op in its own process, its verified
 * index taking the files' new stamps (lib/engine/verified.ts); when one
 * differs, the child is started with the hashes read so far
 * (lib/storage/prehash.ts), so that no file is read twice.
 *
 * A hash is `settled` (its stamp may be recorded) only when the file's stamp
 * was not racy by a clock marker written before the stat that preceded its
 * read (lib/storage/state.ts, `isRacy`), and it kept that stamp until its
 * last byte was read. Loaded only when the gate found a touched file.
 *
 * @module
 */

import { hashFile } from "../storage/hash.ts";
import { isRacy, markClock, racyClock, sameStamp, stampOf } from "../storage/state.ts";
import { holdTouched, touchedFiles, type TouchedHash } from "../noop_stamps.ts";
import { mark } from "../trace.ts";

/** What {@link rehashTouched} found. */
export interface Rehashing {
  /** Undefined when every touched file holds its recorded content: the gate holds. */
  readonly why: string | undefined;
  /** The files hashed, in order, each with the stamp it kept while read. */
  readonly hashed: readonly TouchedHash[];
}

/**
 * Hash the touched files the last gate of this process found
 * (`touchedFiles`), in the project whose state directory is `stateDir`,
 * stopping at the first whose hash is not the recorded one, or whose stamp
 * changed meanwhile; when all hold, let the gate hold (`holdTouched`).
 */
export async function rehashTouched(stateDir: string): Promise<Rehashing> {
  // Written before the stats it judges: see isRacy.
  markClock(stateDir);
  const hashed: TouchedHash[] = [];
  for (const { path, hint } of touchedFiles()) {
    const clock = racyClock();
    let hash: string;
    let stamp;
    try {
      const info = Deno.statSync(path);
      if (!info.isFile) return { why: `${path} changed`, hashed };
      stamp = stampOf(info);
      hash = await hashFile(path);
      if (!sameStamp(stamp, stampOf(Deno.statSync(path)))) {
        return { why: `${path} changed while it was read`, hashed };
      }
    } catch {
      return { why: `${path} changed`, hashed };
    }
    const { mtime, size, ino } = stamp;
    hashed.push({ path, mtime, size, ino, hash, settled: !isRacy(stamp, clock) });
    mark(`launcher: no-op gate: hashed ${path}`);
    if (hash !== hint) return { why: `${path} changed (its content)`, hashed };
  }
  return { why: holdTouched(hashed), hashed };
}
