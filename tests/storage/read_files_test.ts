/**
 * A `loaders.files()` dep read by Pivot for its stage: every file of the
 * directory (through links, as its hash follows them), sorted, packed into
 * one shared buffer, and the object the stage receives made from it.
 */

import { assert, assertEquals, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";
import { tempDir } from "../_project.ts";
import { readFilesUnder } from "../../lib/storage/read_files.ts";
import { contentOf, filesRecord } from "../../lib/model/returned_files.ts";

test("readFilesUnder reads every file, through links, sorted, into one shared buffer", async () => {
  await using dir = await tempDir();
  const big = new Uint8Array((1 << 20) + 7).map((_, i) => i % 253);
  await Deno.mkdir(dir.path("data/sub/deep"), { recursive: true });
  await Deno.mkdir(dir.path("elsewhere"));
  await Deno.writeTextFile(dir.path("data/b.txt"), "bee\n");
  await Deno.writeTextFile(dir.path("data/a-b"), "");
  await Deno.writeTextFile(dir.path("data/sub/deep/c.txt"), "naïve ✓\n");
  await Deno.writeFile(dir.path("data/sub/big.bin"), big);
  await Deno.writeTextFile(dir.path("elsewhere/linked.txt"), "through a link\n");
  await Deno.symlink(dir.path("elsewhere/linked.txt"), dir.path("data/link.txt"));
  await Deno.symlink(dir.path("elsewhere"), dir.path("data/linked-dir"));

  const files = readFilesUnder(dir.path("data"));
  assertEquals(files.paths, [
    "a-b",
    "b.txt",
    "link.txt",
    "linked-dir/linked.txt",
    "sub/big.bin",
    "sub/deep/c.txt",
  ]);
  assert(files.data.buffer instanceof SharedArrayBuffer, "posted without a copy");
  assertEquals(contentOf(files, 4), big);
  const text = filesRecord(files, true) as Record<string, string>;
  assertEquals(text["b.txt"], "bee\n");
  assertEquals(text["a-b"], "");
  assertEquals(text["link.txt"], "through a link\n");
  assertEquals(text["linked-dir/linked.txt"], "through a link\n");
  assertEquals(text["sub/deep/c.txt"], "naïve ✓\n");
  const bytes = filesRecord(files, false) as Record<string, Uint8Array>;
  assertEquals(bytes["sub/big.bin"], big);
  assert(!(bytes["b.txt"].buffer instanceof SharedArrayBuffer), "the stage's bytes are its own");
  assertEquals(Object.keys(bytes), files.paths);

  assertThrows(() => readFilesUnder(dir.path("missing")), Deno.errors.NotFound);
});
