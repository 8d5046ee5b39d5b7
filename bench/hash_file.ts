/**
 * Hashes one file with Pivot's own file hash (`hashFile` of
 * `lib/storage/hash.ts`) and prints `{"hash", "ms"}` as JSON: the time of the
 * call inside this process, without Deno's start-up. Used by the hashing
 * workload of `bench/run.ts`.
 *
 * Usage: `deno run --allow-read bench/hash_file.ts FILE`
 *
 * @module
 */

import { hashFile } from "../lib/storage/hash.ts";

if (import.meta.main) {
  const [path] = Deno.args;
  if (path === undefined) {
    console.error("usage: hash_file.ts FILE");
    Deno.exit(2);
  }
  const start = performance.now();
  const hash = await hashFile(path);
  const ms = performance.now() - start;
  console.log(JSON.stringify({ hash, ms }));
}
