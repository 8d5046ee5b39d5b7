import {
  CHUNK_STAMPS,
  isCorruptStateError,
  isRacy,
  NS,
  RACY_MS,
  racyClock,
  sameStamp,
  setAsideState,
  SORTED_RUN,
  stampOf,
  stampOfDevice,
  StateStore,
} from "../../lib/storage/state.ts";
import { statMany } from "../../lib/storage/stat_many.ts";
import { openState, tempDir } from "../_project.ts";
import { markClockAfter } from "../_clock.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const stamp = { mtime: 1_700_000_000_000, size: 10, ino: 42 };
const HASH = "0123456789abcdef";

test("cachedFileHash is undefined for a file never remembered", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  assertEquals(await state.cachedFileHash("a.txt", stamp), undefined);
});

test("cachedFileHash returns the remembered hash for the same stamp", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assertEquals(await state.cachedFileHash("a.txt", stamp), HASH);
});

test("cachedFileHash misses when mtime, size or inode differ", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assertEquals(
    await state.cachedFileHash("a.txt", { ...stamp, mtime: stamp.mtime + 1 }),
    undefined,
  );
  assertEquals(await state.cachedFileHash("a.txt", { ...stamp, size: 11 }), undefined);
  assertEquals(await state.cachedFileHash("a.txt", { ...stamp, ino: 43 }), undefined);
  assertEquals(await state.cachedFileHash("b.txt", stamp), undefined);
});

test("remembered file hashes are written on flush, not before", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.rememberFileHash("a.txt", stamp, HASH);
  assertEquals((await state.kv.get([NS.file, "a.txt"])).value, null);
  await state.flush();
  assertEquals((await state.kv.get([NS.file, "a.txt"])).value, { ...stamp, hash: HASH });
});

test("file hashes persist when the store is closed and reopened", async () => {
  await using dir = await tempDir();
  const first = await StateStore.open(dir.path("state"));
  await first.rememberFileHash("a.txt", stamp, HASH);
  await first.close();
  await using second = await openState(dir.root);
  assertEquals(await second.cachedFileHash("a.txt", stamp), HASH);
});

test("stampOf takes mtime in ms, size and inode from Deno.stat", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("f"), "hello");
  const info = await Deno.stat(dir.path("f"));
  const s = stampOf(info);
  assertEquals(s.size, 5);
  assertEquals(s.ino, info.ino);
  assertEquals(s.mtime, info.mtime!.getTime());
  assert(sameStamp(s, stampOf(await Deno.stat(dir.path("f")))));
});

test("get sees a deferred write before flush and after it", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  state.defer(["x", "k"], { v: 1 });
  assertEquals(await state.get(["x", "k"]), { v: 1 });
  assertEquals((await state.kv.get(["x", "k"])).value, null);
  await state.flush();
  assertEquals(await state.get(["x", "k"]), { v: 1 });
  assertEquals((await state.kv.get(["x", "k"])).value, { v: 1 });
});

test("writes handed to a commit are read as written until it ends, and a write made meanwhile wins", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.kv.set(["x", "k"], "old");
  await state.kv.set(["x", "other"], "kept");
  state.defer(["x", "k"], "first");
  state.defer(["y", "k"], "first");
  const flushing = state.flush();
  // Let the flush hand its writes to the commit, then read while it runs.
  for (let i = 0; i < 3; i++) await Promise.resolve();
  const loading = state.preload(["x"]);
  assertEquals(await state.get(["x", "k"]), "first");
  assertEquals((await state.list(["y"])).map((e) => e.value), ["first"]);
  state.defer(["y", "k"], "second");
  await Promise.all([flushing, loading]);
  // The range read begun during the commit did not bring back the old value.
  assertEquals(await state.get(["x", "k"]), "first");
  assertEquals(await state.get(["x", "other"]), "kept");
  assertEquals(await state.get(["y", "k"]), "second");
  assertEquals((await state.kv.get(["y", "k"])).value, "first");
  await state.flush();
  assertEquals((await state.kv.get(["y", "k"])).value, "second");
  assertEquals((await state.kv.get(["x", "k"])).value, "first");
});

test("a later defer of the same key replaces the earlier one", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  state.defer(["x", "k"], 1);
  state.defer(["x", "k"], 2);
  await state.flush();
  assertEquals((await state.kv.get(["x", "k"])).value, 2);
});

test("flush commits more than 1000 deferred writes (one atomic commit's limit)", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  for (let i = 0; i < 2500; i++) state.defer(["many", i], { i });
  await state.flush();
  const stored = await state.list<{ i: number }>(["many"]);
  assertEquals(stored.length, 2500);
  assertEquals(stored.at(-1), { key: ["many", 2499], value: { i: 2499 } });
});

test("flush commits deferred writes whose total size exceeds one commit's 800 KB", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const value = "x".repeat(30_000);
  for (let i = 0; i < 100; i++) state.defer(["big", i], value);
  await state.flush();
  assertEquals((await state.list(["big"])).length, 100);
});

test("preload serves gets under the prefix, including absent keys", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.kv.set(["p", "a"], 1);
  await state.preload(["p"]);
  // Written behind the store's back: a preloaded prefix is served from memory.
  await state.kv.set(["p", "b"], 2);
  assertEquals(await state.get(["p", "a"]), 1);
  assertEquals(await state.get(["p", "b"]), undefined);
});

test("set, flush and delete keep a preloaded prefix up to date", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.preload(["p"]);
  await state.set(["p", "a"], 1);
  assertEquals(await state.get(["p", "a"]), 1);
  state.defer(["p", "b"], 2);
  await state.flush();
  assertEquals(await state.get(["p", "b"]), 2);
  await state.delete(["p", "a"]);
  assertEquals(await state.get(["p", "a"]), undefined);
  assertEquals((await state.kv.get(["p", "a"])).value, null);
});

test("getInSmall keeps a small namespace in memory: its entries, its absent keys, and this store's writes", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await state.kv.set(["r", "a"], 1);
  assertEquals(await state.getInSmall(["r"], ["r", "a"], 2), 1);
  // Written behind the store's back after the first listing: not read again.
  await state.kv.set(["r", "b"], 2);
  assertEquals(await state.getInSmall(["r"], ["r", "b"], 2), undefined);
  // This store's own writes are seen, queued and once flushed.
  state.defer(["r", "c"], 3);
  assertEquals(await state.getInSmall(["r"], ["r", "c"], 2), 3);
  await state.flush();
  assertEquals(await state.getInSmall(["r"], ["r", "c"], 2), 3);
  assertEquals((await state.kv.get(["r", "c"])).value, 3);
});

test("getInSmall reads a namespace larger than its limit key by key", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  for (const name of ["a", "b", "c"]) await state.kv.set(["r", name], name);
  assertEquals(await state.getInSmall(["r"], ["r", "a"], 2), "a");
  await state.kv.set(["r", "d"], "d");
  assertEquals(await state.getInSmall(["r"], ["r", "d"], 2), "d");
  assertEquals(await state.getInSmall(["r"], ["r", "e"], 2), undefined);
});

test("delete drops a pending deferred write", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  state.defer(["x", "k"], 1);
  await state.delete(["x", "k"]);
  await state.flush();
  assertEquals(await state.get(["x", "k"]), undefined);
});

test("deferred writes persist through close and reopen", async () => {
  await using dir = await tempDir();
  const first = await StateStore.open(dir.path("state"));
  first.defer(["x", "k"], "v");
  await first.close();
  await using second = await openState(dir.root);
  assertEquals(await second.get(["x", "k"]), "v");
});

test("flush drops an entry too large for Deno KV and commits the others", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  // A parsed lock file with a 2000-file directory manifest is about this big.
  state.defer(["big", "huge"], "x".repeat(100_000));
  for (let i = 0; i < 10; i++) state.defer(["big", i], i);
  await state.flush();
  assertEquals((await state.kv.get(["big", "huge"])).value, null);
  assertEquals((await state.list(["big"])).length, 10);
});

test("a store that is not a database is set aside, reported once, and started afresh", async () => {
  await using dir = await tempDir();
  await dir.write("state/state.db", "not a database, just text ".repeat(200));
  const resets: string[] = [];
  const state = await StateStore.open(dir.path("state"), { onReset: (m) => resets.push(m) });
  try {
    await state.rememberFileHash("a.txt", stamp, HASH);
    await state.flush();
    assertEquals(await state.cachedFileHash("a.txt", stamp), HASH);
  } finally {
    await state.close();
  }
  assertEquals(resets.length, 1);
  assert(
    /state\.db was damaged \(file is not a database\): moved it to .*state\.db\.corrupt/.test(
      resets[0],
    ),
  );
  assert(await dir.exists("state/state.db.corrupt"), "the damaged file is kept for inspection");
  const again: string[] = [];
  const reopened = await StateStore.open(dir.path("state"), { onReset: (m) => again.push(m) });
  assertEquals(await reopened.cachedFileHash("a.txt", stamp), HASH);
  await reopened.close();
  assertEquals(again, []);
});

test("setting a store aside replaces an older copy and leaves no stray -wal or -shm", async () => {
  await using dir = await tempDir();
  await dir.write("state/state.db.corrupt", "old");
  await dir.write("state/state.db.corrupt-shm", "old shm");
  await dir.write("state/state.db", "new damage");
  assertEquals(setAsideState(dir.path("state")), dir.path("state/state.db.corrupt"));
  assertEquals(await dir.read("state/state.db.corrupt"), "new damage");
  assert(!(await dir.exists("state/state.db.corrupt-shm")));
  assert(!(await dir.exists("state/state.db")));
});

test("SQLite's words for a damaged file are recognised, others are not", () => {
  assert(isCorruptStateError(new Error("database disk image is malformed")));
  assert(isCorruptStateError(new Error("file is not a database")));
  assert(isCorruptStateError(new TypeError("could not deserialize value")));
  assert(!isCorruptStateError(new Error("database is locked")));
  assert(!isCorruptStateError("file is not a database"));
});

test("a flush commits every queued write: many small stamps, and large values queued without an estimate", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  // Stamps go up to KV's 1,000 mutations a commit; values with no estimate
  // count as a 200th of a commit, so 100 of 20 KB (2 MB) need no halving.
  for (let i = 0; i < 2500; i++) {
    await state.rememberObject(`${i}`.padStart(16, "0"), { mtime: i, size: 10, ino: i });
  }
  const value = (i: number) => `${i}:`.padEnd(20_000, "y");
  for (let i = 0; i < 100; i++) state.defer(["unsized", i], value(i));
  await state.flush();
  assertEquals((await state.list(["object"])).length, 2500);
  assertEquals(
    await state.objectStamp("0000000000002499"),
    { mtime: 2499, size: 10, ino: 2499 },
  );
  assertEquals((await state.list<string>(["unsized"])).length, 100);
  assertEquals(await state.get(["unsized", 99]), value(99));
});

test("deferred values with sizes given are committed in batches KV accepts, the last write of a key winning", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const value = (i: number) => `${i}:`.padEnd(30_000, "x");
  for (let i = 0; i < 100; i++) state.defer(["big", i], value(i), 30_000);
  state.defer(["big", 0], "rewritten", 10);
  await state.flush();
  const stored = await state.list<string>(["big"]);
  assertEquals(stored.length, 100);
  assertEquals(await state.get(["big", 0]), "rewritten");
  assertEquals(await state.get(["big", 99]), value(99));
});

test("racy: a file written before the clock marker is settled at once, one written after it is not", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const before = dir.path("before.txt");
  await Deno.writeTextFile(before, "old");
  await markClockAfter(stateDir, before);
  const clock = racyClock();
  const after = dir.path("after.txt");
  await Deno.writeTextFile(after, "new");
  const settled = stampOf(Deno.statSync(before));
  const fresh = stampOf(Deno.statSync(after));
  // The marker decides, not the wall clock: the same answers whatever the wall clock says.
  for (const wall of [settled.mtime + 1, settled.mtime + 10 * RACY_MS]) {
    assertEquals(isRacy(settled, { ...clock, wall }), false);
    assertEquals(isRacy(fresh, { ...clock, wall }), true);
  }
  // A later marker settles the file written after the first one.
  await markClockAfter(stateDir, after);
  const later = racyClock();
  assertEquals(isRacy(stampOf(Deno.statSync(after)), later), false);
  // A clock read before that marker (before the stat) still judges by its own.
  assertEquals(isRacy(fresh, clock), true);
});

test("racy: a stamp of another device, a future mtime, or no marker falls back to the wall clock", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const path = dir.path("a.txt");
  await Deno.writeTextFile(path, "a");
  await markClockAfter(stateDir, path);
  const clock = racyClock();
  const info = Deno.statSync(path);
  const mtime = info.mtime!.getTime();
  assertEquals(isRacy(stampOf(info), { ...clock, wall: mtime + 1 }), false);
  // On another device (whose clock or rounding may differ): within RACY_MS of the wall clock, racy.
  for (
    const elsewhere of [
      stampOf({ ...info, dev: info.dev + 1 }),
      stampOfDevice(mtime, 1, 2, info.dev + 1),
    ]
  ) {
    assertEquals(isRacy(elsewhere, { ...clock, wall: mtime + RACY_MS / 2 }), true);
    assertEquals(isRacy(elsewhere, { ...clock, wall: mtime + RACY_MS + 1 }), false);
  }
  assertEquals(isRacy(stampOfDevice(mtime, 1, 2, info.dev), { ...clock, wall: mtime + 1 }), false);
  // No marker written before the stat: the wall clock.
  const unmarked = { wall: mtime + RACY_MS / 2, marker: undefined };
  assertEquals(isRacy(stampOf(info), unmarked), true);
  // Dated a minute ahead: racy by the marker and by the wall clock alike.
  const ahead = new Date(Date.now() + 60_000);
  Deno.utimeSync(path, ahead, ahead);
  const future = Deno.statSync(path);
  assertEquals(isRacy(stampOf(future), racyClock()), true);
  assertEquals(isRacy(stampOf({ ...future, dev: future.dev + 1 }), racyClock()), true);
});

test("racy: statMany's helper thread gives stamps judged by the marker", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const paths: string[] = [];
  for (let i = 0; i < 3000; i++) {
    paths.push(dir.path(`f${i}.txt`));
    Deno.writeTextFileSync(paths[i], `${i}`);
  }
  await markClockAfter(stateDir, ...paths);
  const clock = racyClock();
  const later = dir.path("later.txt");
  await Deno.writeTextFile(later, "later");
  const stamps = await statMany([...paths, later], { parallelFrom: 1, helperFirst: true });
  // Judged by the marker: settled whatever the wall clock says, but for the file written after it.
  const wall = Math.max(...stamps.map((stamp) => stamp!.mtime)) + 1;
  assertEquals(stamps.slice(0, -1).filter((stamp) => isRacy(stamp!, { ...clock, wall })).length, 0);
  assertEquals(isRacy(stamps.at(-1)!, { ...clock, wall: wall + 10 * RACY_MS }), true);
});

/** Wait (bounded) until `check` is true: a streamed commit lands on its own time. */
async function eventually(check: () => Promise<boolean>): Promise<boolean> {
  for (let i = 0; i < 500; i++) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
  return false;
}

/** A distinct 16-digit object hash for `n`. */
const objectHash = (n: number) => n.toString(16).padStart(16, "0");

/** The object stamp `state` has written to its store for `hash` (null: none yet). */
async function storedStamp(state: StateStore, hash: string): Promise<unknown> {
  return (await state.kv.get([NS.object, hash])).value;
}

test("object stamps wait for a flush unless streamed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  for (let n = 0; n < 1000; n++) await state.rememberObject(objectHash(n), stamp);
  assertEquals(await storedStamp(state, objectHash(0)), null);
  await state.flush();
  assertEquals(await storedStamp(state, objectHash(0)), {
    ...stamp,
    hash: objectHash(0),
  });
});

test("streamed object stamps are held until a sorted run fills, read at once meanwhile", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  state.streamObjectStamps();
  // A thousand (one commit's worth): held, not committed in arrival order.
  for (let n = 0; n < 1000; n++) await state.rememberObject(objectHash(n), { ...stamp, ino: n });
  await new Promise((resolve) => setTimeout(resolve, 50));
  assertEquals(await storedStamp(state, objectHash(0)), null);
  assertEquals(await storedStamp(state, objectHash(999)), null);
  // Reads of this process see every held stamp.
  assertEquals(await state.objectStamp(objectHash(0)), { ...stamp, ino: 0 });
  assertEquals(await state.objectStamp(objectHash(999)), { ...stamp, ino: 999 });
  // A full run goes to commits before the flush.
  for (let n = 1000; n < SORTED_RUN; n++) {
    await state.rememberObject(objectHash(n), { ...stamp, ino: n });
  }
  assert(
    await eventually(async () => await storedStamp(state, objectHash(SORTED_RUN - 1)) !== null),
  );
  assertEquals(await storedStamp(state, objectHash(0)), { ...stamp, ino: 0, hash: objectHash(0) });
  // The rest goes with the flush.
  await state.rememberObject(objectHash(SORTED_RUN), stamp);
  assertEquals(await storedStamp(state, objectHash(SORTED_RUN)), null);
  await state.flush();
  assertEquals(await storedStamp(state, objectHash(SORTED_RUN)), {
    ...stamp,
    hash: objectHash(SORTED_RUN),
  });
});

test("held object stamps are in the store after a flush, for another process", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  // Out of order, one remembered twice: the newer stamp is the one written.
  const names = [5, 3, 9, 1, 3].map(objectHash);
  {
    const state = await StateStore.open(stateDir);
    state.streamObjectStamps();
    for (const [n, name] of names.entries()) {
      await state.rememberObject(name, { ...stamp, ino: n });
    }
    await state.close();
  }
  const other = await StateStore.open(stateDir);
  try {
    assertEquals(await other.objectStamp(objectHash(5)), { ...stamp, ino: 0 });
    assertEquals(await other.objectStamp(objectHash(3)), { ...stamp, ino: 4 });
    assertEquals(await other.objectStamp(objectHash(1)), { ...stamp, ino: 3 });
    assertEquals((await other.list([NS.object])).length, 4);
  } finally {
    await other.close();
  }
});

test("a failed commit of held object stamps is raised by the flush", async () => {
  await using dir = await tempDir();
  const state = await StateStore.open(dir.path("state"));
  state.streamObjectStamps();
  await state.rememberObject(HASH, stamp);
  // A real failure: the store's handle closed under it.
  state.kv.close();
  let raised: unknown;
  try {
    await state.flush();
  } catch (error) {
    raised = error;
  }
  assert(raised instanceof Error, `flush raised ${raised}`);
});

test("a streamed object stamp is not overwritten by an older one queued before", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const newer = { ...stamp, ino: 43 };
  await state.rememberObject(HASH, stamp);
  state.streamObjectStamps();
  await state.rememberObject(HASH, newer);
  await state.flush();
  assertEquals(await storedStamp(state, HASH), { ...newer, hash: HASH });
  assertEquals(await state.objectStamp(HASH), newer);
});

test("discardPending drops streamed object stamps not yet committed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  state.streamObjectStamps();
  await state.rememberObject(HASH, stamp);
  state.discardPending();
  await state.flush();
  assertEquals(await storedStamp(state, HASH), null);
});

/** `n` object hashes and stamps, the stamp of the `i`th with inode `i`. */
function objectsOf(
  n: number,
): { hashes: string[]; stamps: { mtime: number; size: number; ino: number }[] } {
  const hashes = Array.from({ length: n }, (_, i) => objectHash(i));
  return { hashes, stamps: hashes.map((_, i) => ({ ...stamp, size: i % 7, ino: i })) };
}

/** Stamps a chunk holds (1,000; 32 under PIVOT_TEST_THRESHOLDS=small). */
const C = CHUNK_STAMPS;

test("a large directory's object stamps: chunks of CHUNK_STAMPS (1,000) for its manifest, written on flush, read by another process", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const { hashes, stamps } = objectsOf(10 * C);
  {
    const state = await StateStore.open(stateDir);
    state.streamObjectStamps();
    state.rememberObjectChunks(HASH, hashes, stamps);
    // Answered in this process at once; in KV only once flushed.
    assertEquals(await state.objectStamp(objectHash(10 * C - 1)), stamps[10 * C - 1]);
    assertEquals((await Array.fromAsync(state.kv.list({ prefix: [NS.objectChunk] }))).length, 0);
    await state.close();
  }
  const kv = await Deno.openKv(`${stateDir}/state.db`);
  try {
    const chunks = await Array.fromAsync(kv.list({ prefix: [NS.objectChunk] }));
    assertEquals(
      chunks.map((c) => c.key),
      [...Array(10).keys()].map((n) => [NS.objectChunk, HASH, n]),
    );
    assertEquals(
      (await Array.fromAsync(kv.list({ prefix: [NS.object] }))).length,
      0,
      "no entry per object",
    );
  } finally {
    kv.close();
  }
  // Another process: by the manifest's chunks, or by every chunk loaded at the first miss.
  for (const manifest of [HASH, undefined]) {
    const other = await StateStore.open(stateDir);
    try {
      if (manifest !== undefined) await other.loadObjectChunks(manifest);
      for (const i of [0, C - 1, C, Math.floor(4.321 * C), 10 * C - 1]) {
        assertEquals(await other.objectStamp(objectHash(i)), stamps[i]);
        assert(await other.objectKnownAs(objectHash(i), stamps[i]));
        assert(
          !(await other.objectKnownAs(objectHash(i), { ...stamps[i], mtime: stamp.mtime + 1 })),
        );
      }
      assertEquals(await other.objectStamp(objectHash(10 * C)), undefined);
    } finally {
      await other.close();
    }
  }
});

test("chunks added for some of a manifest's objects (a fetch's downloads) are numbered after its chunks stored or remembered here, which stay", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const { hashes, stamps } = objectsOf(3.5 * C);
  {
    const state = await StateStore.open(stateDir);
    state.rememberObjectChunks(HASH, hashes.slice(0, 1.5 * C), stamps.slice(0, 1.5 * C));
    await state.flush();
    // Two chunks stored; one more remembered here and not yet written.
    await state.addObjectChunks(HASH, hashes.slice(1.5 * C, 2 * C), stamps.slice(1.5 * C, 2 * C));
    await state.addObjectChunks(HASH, [], []);
    await state.close();
  }
  {
    const state = await StateStore.open(stateDir);
    await state.addObjectChunks(HASH, hashes.slice(2 * C), stamps.slice(2 * C));
    await state.close();
  }
  const other = await StateStore.open(stateDir);
  try {
    const keys = (await other.list([NS.objectChunk, HASH])).map(({ key }) => key[2]);
    assertEquals(keys, [0, 1, 2, 3, 4]);
    await other.loadObjectChunks(HASH);
    for (const i of [0, 1.5 * C - 1, 1.5 * C, 2 * C - 1, 2 * C, 3.5 * C - 1]) {
      assert(await other.objectKnownAs(objectHash(i), stamps[i]), `object ${i}`);
    }
  } finally {
    await other.close();
  }
});

test("chunked object stamps with --no-commit: none written", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const { hashes, stamps } = objectsOf(1_500);
  state.rememberObjectChunks(HASH, hashes, stamps);
  state.discardPending();
  await state.flush();
  assertEquals((await Array.fromAsync(state.kv.list({ prefix: [NS.objectChunk] }))).length, 0);
});

test("an object stamp as f29076a wrote it (an entry per object) is still read, beside a chunk with another stamp", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  const older = { ...stamp, ino: 7 };
  {
    // The old format, written by hand: `[object, hash]` → stamp and hash.
    await Deno.mkdir(stateDir, { recursive: true });
    const kv = await Deno.openKv(`${stateDir}/state.db`);
    await kv.set([NS.object, HASH], { ...older, hash: HASH });
    await kv.set([NS.object, objectHash(1)], { ...older, hash: objectHash(1) });
    kv.close();
  }
  const state = await StateStore.open(stateDir);
  try {
    assertEquals(await state.objectStamp(HASH), older);
    assert(await state.objectKnownAs(HASH, older));
    // A chunk recorded later, with the object's newer stamp: either vouches; no other does.
    state.rememberObjectChunks(objectHash(99), [HASH], [stamp]);
    assert(await state.objectKnownAs(HASH, stamp));
    assert(await state.objectKnownAs(HASH, older));
    assert(!(await state.objectKnownAs(HASH, { ...stamp, ino: 8 })));
    assertEquals(await state.objectStamp(objectHash(1)), older);
  } finally {
    await state.close();
  }
});

test("a chunk of object stamps not shaped as this version writes them is ignored: its objects' stamps are unknown", async () => {
  await using dir = await tempDir();
  const stateDir = dir.path("state");
  await Deno.mkdir(stateDir, { recursive: true });
  const kv = await Deno.openKv(`${stateDir}/state.db`);
  await kv.set([NS.objectChunk, HASH, 0], { hashes: [objectHash(1)], stamps: [1, 2, 3] });
  await kv.set([NS.objectChunk, HASH, 1], {
    hashes: [objectHash(2), objectHash(3)],
    stamps: new Float64Array([1, 2, 3]),
  });
  kv.close();
  const state = await StateStore.open(stateDir);
  try {
    for (const n of [1, 2, 3]) assertEquals(await state.objectStamp(objectHash(n)), undefined);
    assert(!(await state.objectKnownAs(objectHash(1), { mtime: 1, size: 2, ino: 3 })));
  } finally {
    await state.close();
  }
});
