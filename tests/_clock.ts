/**
 * Waiting for the filesystem's clock (lib/storage/state.ts, `markClock`):
 * whether a stamp is racy depends on the order of writes on that clock, so
 * tests wait for it to move on rather than sleep for a fixed time.
 *
 * @module
 */

import { markClock, racyClock } from "../lib/storage/state.ts";

/**
 * Write the clock marker in `stateDir` until its mtime is past every one of
 * `paths`' mtimes: stamps of those files taken from now on are settled.
 */
export async function markClockAfter(stateDir: string, ...paths: string[]): Promise<void> {
  await Deno.mkdir(stateDir, { recursive: true });
  const newest = Math.max(0, ...paths.map((path) => Deno.statSync(path).mtime!.getTime()));
  for (;;) {
    markClock(stateDir);
    const { marker } = racyClock();
    if (marker !== undefined && marker > newest) return;
    await new Promise((resolve) => setTimeout(resolve, 2));
  }
}
