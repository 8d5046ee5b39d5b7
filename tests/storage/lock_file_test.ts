import { PivotError } from "../../lib/errors.ts";
import { Cache, hashManifest } from "../../lib/storage/cache.ts";
import { basename } from "node:path";
import { type LockData, readLock, writeLock } from "../../lib/storage/lock_file.ts";
import { listTree, openState, tempDir } from "../_project.ts";
import {
  assert,
  assertEquals,
  assertNotEquals,
  assertPivotError,
  assertRejects,
} from "../_assert.ts";
import { test } from "../_harness.ts";

const REL = ".pivot/stages/train.lock";

const data: LockData = {
  code_manifest: { "self:train": "1111111111111111", "func:helper": "2222222222222222" },
  params: { lr: 0.1, epochs: 3, nested: { z: 1, a: 2 } },
  deps: [
    { path: "data/z.csv", hash: "3333333333333333" },
    { path: "data/images", hash: "4444444444444444", files: 2, size: 2048 },
  ],
  outs: [
    { path: "model.json", hash: "7777777777777777", kind: "out" },
    { path: "metrics.json", hash: "8888888888888888", kind: "metric" },
  ],
};

/** `data` in canonical order: deps, outs and directory files sorted by path. */
const canonical: LockData = {
  code_manifest: data.code_manifest,
  params: data.params,
  deps: [
    { path: "data/images", hash: "4444444444444444", files: 2, size: 2048 },
    { path: "data/z.csv", hash: "3333333333333333" },
  ],
  outs: [
    { path: "metrics.json", hash: "8888888888888888", kind: "metric" },
    { path: "model.json", hash: "7777777777777777", kind: "out" },
  ],
};

test("writeLock then readLock round-trips the lock in canonical order", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path(REL);
  await writeLock(path, REL, data, state);
  assertEquals(await readLock(path, REL, state), canonical);
});

test("a lock file written in the background is the same file, replacing the old one whole", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await writeLock(dir.path("sync.lock"), "sync.lock", data, state);
  const path = dir.path(REL);
  await Deno.mkdir(dir.path(REL, ".."), { recursive: true });
  await Deno.writeTextFile(path, "old text, longer than nothing\n".repeat(100));
  await writeLock(path, REL, data, state, { background: true });
  assertEquals(await Deno.readTextFile(path), await Deno.readTextFile(dir.path("sync.lock")));
  assertEquals(await readLock(path, REL, state), canonical);
  // Only the lock file is left in its directory: the temporary file was renamed over it.
  assertEquals([...Deno.readDirSync(dir.path(REL, ".."))].map((e) => e.name), [basename(path)]);
});

test("readLock of a missing lock file is undefined", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  assertEquals(await readLock(dir.path(REL), REL, state), undefined);
});

test("the lock file text has sorted keys and deps, outs and files sorted by path", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await writeLock(dir.path(REL), REL, data, state);
  const text = await Deno.readTextFile(dir.path(REL));
  const order = (needles: string[]) => needles.map((n) => text.indexOf(n));
  const sorted = (positions: number[]) => {
    assert(positions.every((p) => p >= 0), `all present in:\n${text}`);
    assertEquals(positions, [...positions].sort((a, b) => a - b), text);
  };
  sorted(order(["code_manifest:", "deps:", "outs:", "params:"]));
  sorted(order(["func:helper", "self:train"]));
  sorted(order(["files: 2", 'hash: "4444444444444444"', "path: data/images", "size: 2048"]));
  sorted(order(["path: data/images", "path: data/z.csv"]));
  sorted(order(["path: metrics.json", "path: model.json"]));
  sorted(order(["epochs:", "lr:", "nested:", "a: 2", "z: 1"]));
});

test("equal locks in any order are written byte for byte the same", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await writeLock(dir.path("a.lock"), "a.lock", data, state);
  const shuffled: LockData = {
    params: { nested: { a: 2, z: 1 }, epochs: 3, lr: 0.1 },
    outs: [...data.outs].reverse(),
    deps: [...data.deps].reverse().map((d) =>
      d.files === undefined ? d : { size: d.size, files: d.files, hash: d.hash, path: d.path }
    ),
    code_manifest: { "func:helper": "2222222222222222", "self:train": "1111111111111111" },
  };
  await writeLock(dir.path("b.lock"), "b.lock", shuffled, state);
  assertEquals(
    await Deno.readTextFile(dir.path("b.lock")),
    await Deno.readTextFile(dir.path("a.lock")),
  );
});

test("writeLock replaces the file atomically and leaves no temp file", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path(REL);
  await writeLock(path, REL, data, state);
  const before = await Deno.stat(path);
  await writeLock(path, REL, { ...data, params: { lr: 0.2 } }, state);
  // A rename puts a new inode in place; an in-place rewrite would keep it.
  assertNotEquals((await Deno.stat(path)).ino, before.ino);
  assertEquals(await listTree(dir.path(".pivot")), ["stages", "stages/train.lock"]);
});

test("an unchanged lock file is served from the parse cache, not re-read", async () => {
  await using dir = await tempDir();
  const path = dir.path(REL);
  {
    await using state = await openState(dir.root);
    await writeLock(path, REL, data, state);
  }
  // Garble the file keeping its size, inode and mtime: only a cache hit can
  // still return the original data.
  const before = await Deno.stat(path);
  await Deno.writeTextFile(path, ":".repeat(before.size));
  await Deno.utime(path, before.atime!, before.mtime!);
  await using state = await openState(dir.root);
  assertEquals(await readLock(path, REL, state), canonical);
});

test("a hand-edited lock file is parsed again", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path(REL);
  await writeLock(path, REL, data, state);
  const text = await Deno.readTextFile(path);
  await Deno.writeTextFile(path, text.replace("lr: 0.1", "lr: 0.25"));
  const { atime, mtime } = await Deno.stat(path);
  await Deno.utime(path, atime!, new Date(mtime!.getTime() + 1000));
  assertEquals((await readLock(path, REL, state))?.params.lr, 0.25);
});

test("a lock file with invalid YAML is a PivotError naming the file", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path(".pivot/stages"), { recursive: true });
  await Deno.writeTextFile(dir.path(REL), "deps: [unclosed\n  : - :\n");
  await assertPivotError(
    () => readLock(dir.path(REL), REL, state),
    /\.pivot\/stages\/train\.lock: not valid YAML/,
  );
});

test("a lock file that is not a mapping is a PivotError naming the file", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path(".pivot/stages"), { recursive: true });
  await Deno.writeTextFile(dir.path(REL), "just a string\n");
  await assertRejects(() => readLock(dir.path(REL), REL, state), PivotError);
  await assertRejects(
    () => readLock(dir.path(REL), REL, state),
    /train\.lock: the file must be a mapping, got "just a string": restore it from git/,
  );
});

test("an empty (truncated) lock file is a PivotError naming the file", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path(".pivot/stages"), { recursive: true });
  await Deno.writeTextFile(dir.path(REL), "");
  await assertRejects(
    () => readLock(dir.path(REL), REL, state),
    /train\.lock: the file must be a lock file \(code_manifest, deps, outs, params\), got an empty file/,
  );
});

test("a lock file listing a directory's files (older Pivot) reads as its count", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path(".pivot/stages"), { recursive: true });
  const files = [{ hash: "1111111111111111", path: "a" }, { hash: "2222222222222222", path: "b" }];
  await Deno.writeTextFile(
    dir.path(REL),
    JSON.stringify({
      code_manifest: {},
      params: {},
      deps: [{ path: "d", hash: "3333333333333333", files }],
      outs: [],
    }),
  );
  const cache = new Cache(dir.path("cache"));
  const lock = await readLock(dir.path(REL), REL, state, cache);
  assertEquals(lock?.deps, [{ path: "d", hash: "3333333333333333", files: 2 }]);
  // The list is kept as a manifest object, for status --explain.
  assertEquals(await cache.readManifest(await hashManifest({ files })), { files });
});
