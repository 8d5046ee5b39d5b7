/**
 * A child process serving S3 on 127.0.0.1 with `s3rver` (from npm, pinned in
 * deno.json): `deno run -A _s3rver_main.ts DIR BUCKET…`. Prints
 * `{"port": N}` once listening; runs until killed.
 *
 * @module
 */

import crypto from "node:crypto";
import { Buffer } from "node:buffer";

// s3rver makes its listing continuation tokens with single DES, which
// OpenSSL 3 (Node 17+, and Deno's node:crypto) no longer offers: every
// truncated listing fails with a 500. Triple DES with the same key three
// times is single DES, so map one onto the other before s3rver loads.
type CipherFactory = (algorithm: string, key: Buffer, iv: Buffer) => unknown;
const patch = crypto as unknown as Record<"createCipheriv" | "createDecipheriv", CipherFactory>;
for (const name of ["createCipheriv", "createDecipheriv"] as const) {
  const original = patch[name].bind(crypto);
  patch[name] = (algorithm, key, iv) =>
    algorithm === "des"
      ? original("des-ede3-cbc", Buffer.concat([key, key, key]), iv)
      : original(algorithm, key, iv);
}

const { default: S3rver } = await import("s3rver");

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
