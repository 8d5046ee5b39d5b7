/**
 * A hash started early (lib/storage/prehash.ts) is used once, and only for
 * the version of the file it read: its stamp held from its start to the
 * asker's stat.
 */

import { hashBytes } from "../../lib/storage/hash.ts";
import { prehash, prehashPending, takePrehash } from "../../lib/storage/prehash.ts";
import { tempDir } from "../_project.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const MiB = 1 << 20;

function bytes(size: number, seed: number): Uint8Array {
  const data = new Uint8Array(size);
  for (let i = 0; i < size; i++) data[i] = (i * 131 + seed * 7 + (i >> 11)) & 0xff;
  return data;
}

function stampOf(path: string) {
  const info = Deno.statSync(path);
  return { mtime: info.mtime!.getTime(), size: info.size, ino: info.ino ?? 0 };
}

test("a hash started early is given once to the asker whose stat saw the same file", async () => {
  await using dir = await tempDir();
  const data = bytes(3 * MiB + 17, 1);
  await Deno.writeFile(dir.path("f"), data);
  prehash(dir.path("f"), 0);
  assertEquals(prehashPending(dir.path("f")), true);
  // Another path: nothing started for it.
  assertEquals(takePrehash(dir.path("g"), stampOf(dir.path("f"))), undefined);
  const stamp = stampOf(dir.path("f"));
  assertEquals(await takePrehash(dir.path("f"), stamp), await hashBytes(data));
  // Taken: the next asker hashes the file itself.
  assertEquals(takePrehash(dir.path("f"), stamp), undefined);
});

test("a file rewritten after its early hash started is not given that hash", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(dir.path("f"), bytes(2 * MiB, 2));
  const old = new Date(Date.now() - 60_000);
  Deno.utimeSync(dir.path("f"), old, old);
  prehash(dir.path("f"), 0);
  // Same size, other bytes, another mtime: the asker's stat differs.
  await Deno.writeFile(dir.path("f"), bytes(2 * MiB, 3));
  assertEquals(await takePrehash(dir.path("f"), stampOf(dir.path("f"))), undefined);
});

test("a file replaced by a rename after its early hash started is not given that hash", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(dir.path("f"), bytes(2 * MiB, 4));
  await Deno.writeFile(dir.path("g"), bytes(2 * MiB, 5));
  const then = new Date(Date.now() - 60_000);
  Deno.utimeSync(dir.path("f"), then, then);
  Deno.utimeSync(dir.path("g"), then, then);
  prehash(dir.path("f"), 0);
  Deno.renameSync(dir.path("g"), dir.path("f"));
  // Same mtime and size, another inode.
  assertEquals(await takePrehash(dir.path("f"), stampOf(dir.path("f"))), undefined);
});

test("small files, directories and missing paths are not hashed early", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(dir.path("small"), bytes(1000, 6));
  await Deno.mkdir(dir.path("sub"));
  prehash(dir.path("small"));
  prehash(dir.path("sub"), 0);
  prehash(dir.path("missing"), 0);
  for (const name of ["small", "sub", "missing"]) {
    assertEquals(prehashPending(dir.path(name)), false);
  }
});
