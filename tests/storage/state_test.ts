import assert from "node:assert/strict";
import { NS, sameStamp, stampOf, StateStore } from "../../lib/storage/state.ts";
import { openState, tempDir } from "../_helpers.ts";

const stamp = { mtime: 1_700_000_000_000, size: 10, ino: 42 };
const HASH = "0123456789abcdef";

Deno.test("cachedFileHash is undefined for a file never remembered", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  assert.equal(await state.cachedFileHash("a.txt", stamp), undefined);
});

Deno.test("cachedFileHash returns the remembered hash for the same stamp", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assert.equal(await state.cachedFileHash("a.txt", stamp), HASH);
});

Deno.test("cachedFileHash misses when mtime, size or inode differ", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assert.equal(
    await state.cachedFileHash("a.txt", { ...stamp, mtime: stamp.mtime + 1 }),
    undefined,
  );
  assert.equal(await state.cachedFileHash("a.txt", { ...stamp, size: 11 }), undefined);
  assert.equal(await state.cachedFileHash("a.txt", { ...stamp, ino: 43 }), undefined);
  assert.equal(await state.cachedFileHash("b.txt", stamp), undefined);
});

Deno.test("remembered file hashes are written on flush, not before", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assert.equal((await state.kv.get([NS.file, "a.txt"])).value, null);
  await state.flush();
  assert.deepEqual((await state.kv.get([NS.file, "a.txt"])).value, { ...stamp, hash: HASH });
});

Deno.test("file hashes persist when the store is closed and reopened", async () => {
  await using dir = await tempDir();
  const first = await StateStore.open(dir.join("state"));
  await first.rememberFileHash("a.txt", stamp, HASH);
  await first.close();
  await using second = await openState(dir.path);
  assert.equal(await second.cachedFileHash("a.txt", stamp), HASH);
});

Deno.test("stampOf takes mtime in ms, size and inode from Deno.stat", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.join("f"), "hello");
  const info = await Deno.stat(dir.join("f"));
  const s = stampOf(info);
  assert.equal(s.size, 5);
  assert.equal(s.ino, info.ino);
  assert.equal(s.mtime, info.mtime!.getTime());
  assert.ok(sameStamp(s, stampOf(await Deno.stat(dir.join("f")))));
});

Deno.test("get sees a deferred write before flush and after it", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  state.defer(["x", "k"], { v: 1 });
  assert.deepEqual(await state.get(["x", "k"]), { v: 1 });
  assert.equal((await state.kv.get(["x", "k"])).value, null);
  await state.flush();
  assert.deepEqual(await state.get(["x", "k"]), { v: 1 });
  assert.deepEqual((await state.kv.get(["x", "k"])).value, { v: 1 });
});

Deno.test("a later defer of the same key replaces the earlier one", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  state.defer(["x", "k"], 1);
  state.defer(["x", "k"], 2);
  await state.flush();
  assert.equal((await state.kv.get(["x", "k"])).value, 2);
});

Deno.test("flush commits more than 1000 deferred writes (one atomic commit's limit)", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  for (let i = 0; i < 2500; i++) state.defer(["many", i], { i });
  await state.flush();
  const stored = await state.list<{ i: number }>(["many"]);
  assert.equal(stored.length, 2500);
  assert.deepEqual(stored.at(-1), { key: ["many", 2499], value: { i: 2499 } });
});

Deno.test("flush commits deferred writes whose total size exceeds one commit's 800 KB", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const value = "x".repeat(30_000);
  for (let i = 0; i < 100; i++) state.defer(["big", i], value);
  await state.flush();
  assert.equal((await state.list(["big"])).length, 100);
});

Deno.test("preload serves gets under the prefix, including absent keys", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await state.kv.set(["p", "a"], 1);
  await state.preload(["p"]);
  // Written behind the store's back: a preloaded prefix is served from memory.
  await state.kv.set(["p", "b"], 2);
  assert.equal(await state.get(["p", "a"]), 1);
  assert.equal(await state.get(["p", "b"]), undefined);
});

Deno.test("set, flush and delete keep a preloaded prefix up to date", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await state.preload(["p"]);
  await state.set(["p", "a"], 1);
  assert.equal(await state.get(["p", "a"]), 1);
  state.defer(["p", "b"], 2);
  await state.flush();
  assert.equal(await state.get(["p", "b"]), 2);
  await state.delete(["p", "a"]);
  assert.equal(await state.get(["p", "a"]), undefined);
  assert.equal((await state.kv.get(["p", "a"])).value, null);
});

Deno.test("delete drops a pending deferred write", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  state.defer(["x", "k"], 1);
  await state.delete(["x", "k"]);
  await state.flush();
  assert.equal(await state.get(["x", "k"]), undefined);
});

Deno.test("deferred writes persist through close and reopen", async () => {
  await using dir = await tempDir();
  const first = await StateStore.open(dir.join("state"));
  first.defer(["x", "k"], "v");
  await first.close();
  await using second = await openState(dir.path);
  assert.equal(await second.get(["x", "k"]), "v");
});

Deno.test("flush drops an entry too large for Deno KV and commits the others", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  // A parsed lock file with a 2000-file directory manifest is about this big.
  state.defer(["big", "huge"], "x".repeat(100_000));
  for (let i = 0; i < 10; i++) state.defer(["big", i], i);
  await state.flush();
  assert.equal((await state.kv.get(["big", "huge"])).value, null);
  assert.equal((await state.list(["big"])).length, 10);
});
