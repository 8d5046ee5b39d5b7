/**
 * A child process serving S3 on 127.0.0.1 with `s3rver` (from npm, pinned in
 * deno.json): `deno run -A _s3rver_main.ts DIR BUCKET…`. Prints
 * `{"port": N}` once listening; runs until killed.
 *
 * @module
 */

import S3rver from "s3rver";

const [directory, ...buckets] = Deno.args;
if (!directory) throw new Error("usage: _s3rver_main.ts DIR BUCKET…");
const server = new S3rver({
  address: "127.0.0.1",
  port: 0,
  silent: true,
  directory,
  configureBuckets: buckets.map((name) => ({ name })),
});
const { port } = await server.run();
console.log(JSON.stringify({ port }));
