/**
 * A hash started early (lib/storage/prehash.ts) is used once, and only for
 * the version of the file it read: its stamp held from its start to the
 * asker's stat.
 */

import { hashBytes } from "../../lib/storage/hash.ts";
import { prehash, prehashPending, startPrehash, takePrehash } from "../../lib/storage/prehash.ts";
import { CLOCK_FILE } from "../../lib/storage/state.ts";
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
  // Written just now, with no clock marker in this process: racy by the wall clock.
  assertEquals(await takePrehash(dir.path("f"), stamp), {
    hash: await hashBytes(data),
    settled: false,
  });
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

test("an early hash is settled only when the file was older than a clock marker written before it", async () => {
  await using dir = await tempDir();
  const data = bytes(2 * MiB + 5, 7);
  await Deno.mkdir(dir.path("state"));
  await Deno.writeFile(dir.path("old"), data);
  const then = new Date(Date.now() - 60_000);
  Deno.utimeSync(dir.path("old"), then, then);
  await Deno.writeFile(dir.path("future"), data);
  const later = new Date(Date.now() + 3_600_000);
  Deno.utimeSync(dir.path("future"), later, later);
  const hash = await hashBytes(data);
  for (const [name, settled] of [["old", true], ["future", false]] as const) {
    // The launcher's request: the child writes a marker, then hashes.
    startPrehash(JSON.stringify({ stateDir: dir.path("state"), path: dir.path(name) }));
    assertEquals(prehashPending(dir.path(name)), false, "under 16 MiB: not started");
    prehash(dir.path(name), 0);
    assertEquals(await takePrehash(dir.path(name), stampOf(dir.path(name))), { hash, settled });
  }
  Deno.statSync(dir.path("state", CLOCK_FILE));
});

test("the hashes the launcher read are given to their askers, once, for the stamp they were read at", async () => {
  await using dir = await tempDir();
  await Deno.writeFile(dir.path("f"), bytes(1000, 8));
  const { mtime, size, ino } = stampOf(dir.path("f"));
  startPrehash(JSON.stringify({
    hashed: [[dir.path("f"), mtime, size, ino, "0123456789abcdef", true], [
      dir.path("g"),
      mtime,
      size,
      ino,
      "fedcba9876543210",
      false,
    ]],
  }));
  assertEquals(await takePrehash(dir.path("f"), { mtime, size, ino }), {
    hash: "0123456789abcdef",
    settled: true,
  });
  assertEquals(takePrehash(dir.path("f"), { mtime, size, ino }), undefined, "taken once");
  // The asker's stat saw another version: not given.
  assertEquals(await takePrehash(dir.path("g"), { mtime, size, ino: ino + 1 }), undefined);
  // A request that does not parse is ignored.
  startPrehash("{");
});
