/** The existence index in the state store. */

import { test } from "../_harness.ts";
import { assertEquals } from "../_assert.ts";
import { openState, tempDir } from "../_project.ts";
import { RemoteIndex } from "../../lib/remote/existence.ts";

function hashes(count: number, bucket: string): string[] {
  return Array.from({ length: count }, (_, i) => bucket + i.toString(16).padStart(14, "0"));
}

test("the index keeps sizes across processes, in chunks under KV's value limit", async () => {
  await using dir = await tempDir();
  {
    await using state = await openState(dir.root);
    const index = await RemoteIndex.load(state, "s3:http://x/bucket/p/");
    // 9,000 objects in one 2-digit bucket: three chunks of at most 4,000.
    for (const [i, hash] of hashes(9_000, "ab").entries()) index.add(hash, i);
    for (const hash of hashes(10, "cd")) index.add(hash, 1);
    await index.save();
  }
  await using state = await openState(dir.root);
  const index = await RemoteIndex.load(state, "s3:http://x/bucket/p/");
  assertEquals(index.count, 9_010);
  assertEquals(index.size(hashes(9_000, "ab")[8_999]!), 8_999);
  const other = await RemoteIndex.load(state, "s3:http://x/bucket/other/");
  assertEquals(other.count, 0);

  // Removing shrinks the bucket to fewer chunks; stale chunks are deleted.
  for (const hash of hashes(9_000, "ab").slice(100)) index.remove(hash);
  await index.save();
  const again = await RemoteIndex.load(state, "s3:http://x/bucket/p/");
  assertEquals(again.count, 110);
});

test("saving merges with what another process saved meanwhile", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const a = await RemoteIndex.load(state, "dir:/r");
  const b = await RemoteIndex.load(state, "dir:/r");
  a.add("ab00000000000001", 1);
  b.add("ab00000000000002", 2);
  await a.save();
  await b.save();
  const both = await RemoteIndex.load(state, "dir:/r");
  assertEquals([both.size("ab00000000000001"), both.size("ab00000000000002")], [1, 2]);
});

test("a suspect object is not trusted until pushed again", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const index = await RemoteIndex.load(state, "dir:/r");
  index.add("ab00000000000001", 5);
  await index.markSuspect("ab00000000000001");
  const reloaded = await RemoteIndex.load(state, "dir:/r");
  assertEquals(reloaded.isSuspect("ab00000000000001"), true);
  assertEquals(reloaded.size("ab00000000000001"), undefined);
  await reloaded.clearSuspect("ab00000000000001");
  assertEquals((await RemoteIndex.load(state, "dir:/r")).isSuspect("ab00000000000001"), false);
});
