/**
 * A child process serving S3 on 127.0.0.1 with `s3rver` (from npm, pinned in
 * deno.json): `deno run -A _s3rver_main.ts DIR BUCKET…`. Prints
 * `{"port": N}` once listening; runs until killed.
 *
 * @module
 */

import crypto from "node:crypto";
import { Buffer } from "node:buffer";
import { createWriteStream } from "node:fs";
import { mkdir } from "node:fs/promises";
import { dirname } from "node:path";
import { Readable, Transform } from "node:stream";
import { pipeline } from "node:stream/promises";

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

// s3rver answers a PUT before the object's file is written: its
// `FilesystemStore.putObject` resolves once the body is handed to the write
// stream (a Buffer) or has passed its MD5 transform (a stream), not when the
// write stream has finished. A GET right after may then read the old object
// or part of the new one, as S3 itself never does (read-after-write, since
// 2020): a test that overwrote an object and fetched it back at once failed
// CI once, the fetch finding it corrupt. Wait for the write stream.
interface S3Object {
  readonly bucket: string;
  readonly key: string;
  readonly metadata: unknown;
  readonly content: Buffer | Readable;
}
interface Store {
  getResourcePath(bucket: string, key: string, resource: string): string;
  putMetadata(bucket: string, key: string, metadata: unknown, md5: string): Promise<void>;
}
const { default: FilesystemStore } = await import("s3rver/lib/stores/filesystem.js");
(FilesystemStore as { prototype: Record<string, unknown> }).prototype.putObject = async function (
  this: Store,
  object: S3Object,
): Promise<{ size: number; md5: string }> {
  const objectPath = this.getResourcePath(object.bucket, object.key, "object");
  await mkdir(dirname(objectPath), { recursive: true });
  const md5 = crypto.createHash("md5");
  let size = 0;
  const counted = new Transform({
    transform(chunk: Buffer, _encoding, callback) {
      md5.update(chunk);
      size += chunk.length;
      callback(null, chunk);
    },
  });
  const content = Buffer.isBuffer(object.content)
    ? Readable.from([object.content], { objectMode: false })
    : object.content;
  await pipeline(content, counted, createWriteStream(objectPath));
  const digest = md5.digest("hex");
  await this.putMetadata(object.bucket, object.key, object.metadata, digest);
  return { size, md5: digest };
};

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
