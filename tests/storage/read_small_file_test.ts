/**
 * readSmallFile (storage/artifact_hash.ts): a small file read whole, in one
 * read when the file is what its stat says; anything else is left to a
 * streamed hash (bytes undefined).
 */

import { readSmallFile, SMALL_FILE } from "../../lib/storage/artifact_hash.ts";
import { stampOf } from "../../lib/storage/state.ts";
import { assertEquals } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

test("readSmallFile gives every byte of empty, small and limit-sized files, with their stamps", async () => {
  await using dir = await tempDir();
  for (const size of [0, 1, 7, 4096, 65_537, SMALL_FILE]) {
    const path = dir.path(`f${size}`);
    const bytes = new Uint8Array(size).map((_, i) => (i * 31 + size) & 0xff);
    Deno.writeFileSync(path, bytes);
    const read = readSmallFile(path);
    assertEquals(read.bytes, bytes, `size ${size}`);
    assertEquals(read.stamp, stampOf(Deno.statSync(path)), `size ${size}`);
  }
});

test("readSmallFile leaves a file over the limit to a streamed hash", async () => {
  await using dir = await tempDir();
  const path = dir.path("big");
  Deno.writeFileSync(path, new Uint8Array(SMALL_FILE + 1));
  const read = readSmallFile(path);
  assertEquals(read.bytes, undefined);
  assertEquals(read.stamp, stampOf(Deno.statSync(path)));
});
