/**
 * Hashes one file with Pivot's own file hash (`hashFile` of
 * `lib/storage/hash.ts`) and prints `{"hash", "ms"}` as JSON: the time of the
 * call inside this process, without Deno's start-up. Used by the hashing
 * workload of `bench/run.ts`.
 *
 * Usage: `deno run --allow-read bench/hash_file.ts [--alone] FILE` (`--alone`:
 * on one thread, with synchronous reads, without the read-ahead on Deno's
 * I/O thread that hashFile uses for a big file)
 *
 * @module
 */

import { hashFileWith } from "../lib/storage/hash.ts";

if (import.meta.main) {
  const alone = Deno.args.includes("--alone");
  const [path] = Deno.args.filter((arg) => arg !== "--alone");
  if (path === undefined) {
    console.error("usage: hash_file.ts [--alone] FILE");
    Deno.exit(2);
  }
  const start = performance.now();
  const hash = await hashFileWith(path, alone ? { aheadFrom: Infinity } : {});
  const ms = performance.now() - start;
  console.log(JSON.stringify({ hash, ms }));
}
