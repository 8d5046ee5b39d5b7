/**
 * Running asynchronous work over many items, a bounded number at a time:
 * enough in flight to keep Deno's blocking pool and the disk busy (copies of
 * the files of a directory), never one promise per file of a 100,000-file
 * directory at once.
 *
 * Work that is mostly synchronous (small objects written with synchronous
 * calls, cheaper than a thread hand-off each) would otherwise hold the event
 * loop for the whole directory: timers, signals (Ctrl-C) and the other
 * stages' messages would wait. So every {@link TURN_MS} the runners pause
 * together for one turn of the event loop.
 *
 * @module
 */

/**
 * Call `work` on each of `items`, at most `limit` at a time. The first error
 * stops new work from starting and is thrown once the running calls have
 * settled.
 *
 * @example
 * ```ts
 * import { eachLimited } from "./pool.ts";
 * const seen: number[] = [];
 * await eachLimited([1, 2, 3], 2, async (n) => void seen.push(n));
 * // seen holds 1, 2 and 3
 * ```
 */
export async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T, index: number) => Promise<void>,
): Promise<void> {
  let next = 0;
  let failure: { error: unknown } | undefined;
  let turn = performance.now();
  let pause: Promise<void> | undefined;
  // Every runner waits for the same turn: one that went on alone would hold
  // the loop still.
  const breathe = async () => {
    if (pause === undefined) {
      if (performance.now() - turn < TURN_MS) return;
      pause = eventLoopTurn().then(() => {
        pause = undefined;
        turn = performance.now();
      });
    }
    await pause;
  };
  const runner = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
      await breathe();
    }
  };
  const runners = [];
  for (let i = 0; i < Math.min(Math.max(1, limit), items.length); i++) runners.push(runner());
  await Promise.all(runners);
  if (failure !== undefined) throw failure.error;
}

/** Longest run of work in {@link eachLimited} before the event loop gets a turn, in ms. */
export const TURN_MS = 50;

/**
 * Resolves after one turn of the event loop (due timers, finished
 * operations and signals handled). A message through a channel: a
 * `setTimeout(0)` takes 4 ms or more.
 */
export function eventLoopTurn(): Promise<void> {
  return new Promise((resolve) => {
    const { port1, port2 } = new MessageChannel();
    port1.onmessage = () => {
      port1.close();
      port2.close();
      resolve();
    };
    port2.postMessage(undefined);
  });
}
