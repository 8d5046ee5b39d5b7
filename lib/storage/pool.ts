/**
 * Running asynchronous work over many items, a bounded number at a time:
 * enough in flight to keep Deno's blocking pool and the disk busy (copies of
 * the files of a directory), never one promise per file of a 100,000-file
 * directory at once.
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
  const runner = async () => {
    while (failure === undefined && next < items.length) {
      const index = next++;
      try {
        await work(items[index], index);
      } catch (error) {
        failure ??= { error };
      }
    }
  };
  const runners = [];
  for (let i = 0; i < Math.min(Math.max(1, limit), items.length); i++) runners.push(runner());
  await Promise.all(runners);
  if (failure !== undefined) throw failure.error;
}
