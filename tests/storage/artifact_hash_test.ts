import { Cache, hashManifest } from "../../lib/storage/cache.ts";
import {
  hashArtifact,
  indexHolds,
  listFiles,
  objectsIntact,
  rememberDirectory,
  rememberObjectsIntact,
} from "../../lib/storage/artifact_hash.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import { PARALLEL_FROM } from "../../lib/storage/stat_many.ts";
import { NS, stampOf, type StateStore } from "../../lib/storage/state.ts";
import { openState, tempDir } from "../_project.ts";
import { markClockAfter } from "../_clock.ts";
import { assert, assertEquals, assertNotEquals, assertPivotError } from "../_assert.ts";
import { test } from "../_harness.ts";

/** Overwrite `path` with same-size `content`, keeping its inode and mtime. */
async function rewriteKeepingStamp(path: string, content: string): Promise<void> {
  const before = await Deno.stat(path);
  assertEquals(new TextEncoder().encode(content).length, before.size);
  await Deno.writeTextFile(path, content);
  await Deno.utime(path, before.atime!, before.mtime!);
  const after = await Deno.stat(path);
  assertEquals(after.ino, before.ino);
  assertEquals(after.mtime!.getTime(), before.mtime!.getTime());
}

/** The mtime the next {@link writeOld} gives: a minute ago, then a ms earlier each time. */
let nextOld = Date.now() - 60_000;

/**
 * Write `path` as a file last modified a minute ago (older than the racy
 * window), with an mtime no earlier call gave: two same-size writes of one
 * file within a ms would otherwise keep its stamp.
 */
async function writeOld(path: string, content: string): Promise<void> {
  await Deno.writeTextFile(path, content);
  const old = new Date(nextOld--);
  await Deno.utime(path, old, old);
}

/** The hash of a file through the state cache, as `hashArtifact` gives it for a file. */
async function hashFileCached(abs: string, rel: string, state: StateStore) {
  return (await hashArtifact(abs, rel, false, state))?.hash;
}

test("hashFileCached hashes a file's content", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.writeTextFile(dir.path("a.txt"), "hello");
  assertEquals(await hashFileCached(dir.path("a.txt"), "a.txt", state), await hashBytes("hello"));
});

test("hashFileCached of a missing path or a directory is undefined", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  assertEquals(await hashFileCached(dir.path("missing"), "missing", state), undefined);
  await Deno.mkdir(dir.path("d"));
  assertEquals(await hashFileCached(dir.path("d"), "d", state), undefined);
});

test("an unchanged file is not re-read: same stamp returns the cached hash", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path("a.txt");
  await writeOld(path, "hello");
  const first = await hashFileCached(path, "a.txt", state);
  // Same size, inode and mtime but other bytes: the stamp contract says the
  // file is unchanged, so the (now stale) cached hash comes back.
  await rewriteKeepingStamp(path, "HELLO");
  assertEquals(await hashFileCached(path, "a.txt", state), first);
});

test("a changed mtime makes the file be re-hashed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path("a.txt");
  await Deno.writeTextFile(path, "hello");
  await hashFileCached(path, "a.txt", state);
  await rewriteKeepingStamp(path, "HELLO");
  const { atime, mtime } = await Deno.stat(path);
  await Deno.utime(path, atime!, new Date(mtime!.getTime() + 1000));
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("HELLO"));
});

test("the file-hash cache survives reopening the state store", async () => {
  await using dir = await tempDir();
  const path = dir.path("a.txt");
  await writeOld(path, "hello");
  {
    await using state = await openState(dir.root);
    await hashFileCached(path, "a.txt", state);
  }
  await rewriteKeepingStamp(path, "HELLO");
  await using state = await openState(dir.root);
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("hello"));
});

test("hashArtifact of a file gives its hash; of the wrong kind, undefined", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.writeTextFile(dir.path("a.txt"), "hello");
  await Deno.mkdir(dir.path("d"));
  assertEquals(await hashArtifact(dir.path("a.txt"), "a.txt", false, state), {
    isDir: false,
    hash: await hashBytes("hello"),
  });
  assertEquals(await hashArtifact(dir.path("a.txt"), "a.txt", true, state), undefined);
  assertEquals(await hashArtifact(dir.path("d"), "d", false, state), undefined);
  assertEquals(await hashArtifact(dir.path("missing"), "missing", true, state), undefined);
});

test("hashArtifact of a directory is the hash of its sorted file manifest", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path("d/sub"), { recursive: true });
  await Deno.writeTextFile(dir.path("d/b.txt"), "b");
  await Deno.writeTextFile(dir.path("d/sub/c.txt"), "c");
  await Deno.writeTextFile(dir.path("d/a.txt"), "a");
  const result = await hashArtifact(dir.path("d"), "d", true, state);
  const manifest = {
    files: [
      { path: "a.txt", hash: await hashBytes("a") },
      { path: "b.txt", hash: await hashBytes("b") },
      { path: "sub/c.txt", hash: await hashBytes("c") },
    ],
  };
  assertEquals(result, {
    isDir: true,
    hash: await hashManifest(manifest),
    files: 3,
    size: 3,
    manifest,
  });
});

test("a directory's hash changes when a file inside changes, is added or renamed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path("d"));
  await Deno.writeTextFile(dir.path("d/a.txt"), "a");
  const hashOf = async () => (await hashArtifact(dir.path("d"), "d", true, state))!.hash;
  const seen = new Set([await hashOf()]);
  await Deno.writeTextFile(dir.path("d/a.txt"), "changed");
  seen.add(await hashOf());
  await Deno.writeTextFile(dir.path("d/b.txt"), "b");
  seen.add(await hashOf());
  await Deno.rename(dir.path("d/b.txt"), dir.path("d/c.txt"));
  seen.add(await hashOf());
  assertEquals(seen.size, 4);
});

test("a directory whose files keep their stamps is answered by its index, unread", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path("d"));
  await writeOld(dir.path("d/a.txt"), "a");
  await writeOld(dir.path("d/b.txt"), "b");
  const first = await hashArtifact(dir.path("d"), "d", true, state);
  assert(first?.isDir && first.manifest !== undefined, "computed the first time");
  // Only an index hit can still give the old hash: the content changed.
  await rewriteKeepingStamp(dir.path("d/a.txt"), "A");
  const again = await hashArtifact(dir.path("d"), "d", true, state);
  assertEquals(again, { ...first, manifest: undefined });
  // A changed stamp re-reads that file only.
  await writeOld(dir.path("d/b.txt"), "B");
  const changed = await hashArtifact(dir.path("d"), "d", true, state);
  assertEquals(changed?.isDir && changed.manifest?.files, [
    { path: "a.txt", hash: await hashBytes("a") },
    { path: "b.txt", hash: await hashBytes("B") },
  ]);
});

test("symlinks are followed, to files and to directories", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path("elsewhere/inner"), { recursive: true });
  await Deno.writeTextFile(dir.path("elsewhere/f.txt"), "f");
  await Deno.writeTextFile(dir.path("elsewhere/inner/g.txt"), "g");
  await Deno.mkdir(dir.path("d"));
  await Deno.symlink(dir.path("elsewhere/f.txt"), dir.path("d/link.txt"));
  await Deno.symlink(dir.path("elsewhere/inner"), dir.path("d/linked_dir"));
  assertEquals(await listFiles(dir.path("d")), ["link.txt", "linked_dir/g.txt"]);
  const result = await hashArtifact(dir.path("d"), "d", true, state);
  assertEquals(result?.isDir && result.manifest?.files, [
    { path: "link.txt", hash: await hashBytes("f") },
    { path: "linked_dir/g.txt", hash: await hashBytes("g") },
  ]);
  assertEquals(
    await hashFileCached(dir.path("d/link.txt"), "d/link.txt", state),
    await hashBytes("f"),
  );
});

test("an empty directory has the hash of an empty manifest", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  await Deno.mkdir(dir.path("d"));
  const result = await hashArtifact(dir.path("d"), "d", true, state);
  assertEquals(result?.hash, await hashManifest({ files: [] }));
});

test("a broken symlink inside a directory is a user error naming it", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("data"));
  await Deno.symlink(dir.path("nowhere"), dir.path("data/link"));
  await assertPivotError(() => listFiles(dir.path("data")), /data\/link is a broken symbolic link/);
});

test("a file modified moments ago is hashed but its hash is not cached", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path("a.txt");
  await Deno.writeTextFile(path, "hello");
  await hashFileCached(path, "a.txt", state);
  // Rewritten within the same clock tick, a file keeps its stamp: the racy
  // guard makes sure the new content is read, not a stale cached hash.
  await rewriteKeepingStamp(path, "HELLO");
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("HELLO"));
});

test("a file written before the run's clock marker is remembered at once; one written after it never is", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const path = dir.path("a.txt");
  await Deno.writeTextFile(path, "hello");
  // Moments old by the wall clock, but older than the marker: settled.
  await markClockAfter(dir.path("state"), path);
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("hello"));
  // Remembered: a rewrite that keeps the stamp (which the marker rules out) is not read.
  await rewriteKeepingStamp(path, "HELLO");
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("hello"));
  // Written after the marker, hashed, then rewritten with the same size and mtime: read again.
  await Deno.writeTextFile(path, "world");
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("world"));
  await rewriteKeepingStamp(path, "WORLD");
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("WORLD"));
  await rewriteKeepingStamp(path, "w0rld");
  assertEquals(await hashFileCached(path, "a.txt", state), await hashBytes("w0rld"));
});

test("a directory hashed again with a file just edited re-reads that file only", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(abs);
  await writeOld(dir.path("d/a.txt"), "a");
  await writeOld(dir.path("d/b.txt"), "b");
  await Deno.writeTextFile(dir.path("d/c.txt"), "c"); // racy: no digest in the index
  const manifestOf = async (c: string) =>
    await hashManifest({
      files: [
        { path: "a.txt", hash: await hashBytes("a") },
        { path: "b.txt", hash: await hashBytes("b") },
        { path: "c.txt", hash: await hashBytes(c) },
      ],
    });
  const first = await hashArtifact(abs, "d", true, state, cache);
  assertEquals(first?.hash, await manifestOf("c"));
  // The same stamps again (the check under the stage's lock): the last hash,
  // its manifest in the cache.
  const again = await hashArtifact(abs, "d", true, state, cache);
  assertEquals(again?.hash, first?.hash);
  assert(again?.isDir && (await cache.readManifest(again.hash))?.files.length === 3);
  // The racy file rewritten within its stamp is read again: its new content counts.
  await rewriteKeepingStamp(dir.path("d/c.txt"), "C");
  assertEquals((await hashArtifact(abs, "d", true, state, cache))?.hash, await manifestOf("C"));
  assertEquals((await hashArtifact(abs, "d", true, state, cache))?.hash, await manifestOf("C"));
  // A settled file keeps the stamp contract (as the index does): not re-read.
  await rewriteKeepingStamp(dir.path("d/a.txt"), "A");
  assertEquals((await hashArtifact(abs, "d", true, state, cache))?.hash, await manifestOf("C"));
  // Any other change of stamps is hashed afresh.
  await writeOld(dir.path("d/b.txt"), "B2");
  assertEquals(
    (await hashArtifact(abs, "d", true, state, cache))?.hash,
    await hashManifest({
      files: [
        { path: "a.txt", hash: await hashBytes("a") },
        { path: "b.txt", hash: await hashBytes("B2") },
        { path: "c.txt", hash: await hashBytes("C") },
      ],
    }),
  );
});

test("a directory walked again sees files added, removed and renamed in settled sub-directories", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(dir.path("d/sub/deep"), { recursive: true });
  await Deno.mkdir(dir.path("other"));
  await writeOld(dir.path("d/sub/deep/a.txt"), "a");
  await writeOld(dir.path("d/b.txt"), "b");
  await writeOld(dir.path("other/x.txt"), "x");
  const old = new Date(Date.now() - 60_000);
  const settle = async () => {
    for (const path of ["d", "d/sub", "d/sub/deep", "other"]) {
      await Deno.utime(dir.path(path), old, old);
    }
  };
  await settle();
  const files = async () => {
    const hashed = await hashArtifact(abs, "d", true, state, cache);
    assert(hashed?.isDir);
    const manifest = await cache.readManifest(hashed.hash);
    return manifest?.files.map((f) => f.path);
  };
  assertEquals(await files(), ["b.txt", "sub/deep/a.txt"]);
  await writeOld(dir.path("d/sub/deep/c.txt"), "c");
  assertEquals(await files(), ["b.txt", "sub/deep/a.txt", "sub/deep/c.txt"]);
  await settle();
  await files();
  await Deno.rename(dir.path("d/sub/deep/c.txt"), dir.path("d/sub/deep/e.txt"));
  assertEquals(await files(), ["b.txt", "sub/deep/a.txt", "sub/deep/e.txt"]);
  await settle();
  await files();
  await Deno.remove(dir.path("d/sub/deep/a.txt"));
  assertEquals(await files(), ["b.txt", "sub/deep/e.txt"]);
  // Behind a symlink no stamp here changes: listed afresh every time.
  await Deno.symlink(dir.path("other"), dir.path("d/link"));
  await settle();
  assertEquals(await files(), ["b.txt", "link/x.txt", "sub/deep/e.txt"]);
  await writeOld(dir.path("other/y.txt"), "y");
  await Deno.utime(dir.path("other"), old, old);
  assertEquals(await files(), ["b.txt", "link/x.txt", "link/y.txt", "sub/deep/e.txt"]);
});

test("with reuse, a directory walked moments ago is answered by that walk, once", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(abs);
  await writeOld(dir.path("d/a.txt"), "a");
  const walked = await hashArtifact(abs, "d", true, state, cache);
  await writeOld(dir.path("d/a.txt"), "changed");
  // A decision may take the walk of a moment ago (an upstream's out), and
  // is told so (under the stage's lock, it then acts only on a fresh walk)…
  const reused = await hashArtifact(abs, "d", true, state, cache, { reuse: true });
  assertEquals(reused?.hash, walked?.hash);
  assertEquals(reused?.isDir && reused.reused, true);
  // …once: the next look walks again, and so does every look without reuse.
  const now = await hashArtifact(abs, "d", true, state, cache, { reuse: true });
  assertNotEquals(now?.hash, walked?.hash);
  assertEquals(now?.isDir && now.reused, undefined);
  await writeOld(dir.path("d/b.txt"), "b");
  const fresh = await hashArtifact(abs, "d", true, state, cache);
  assertNotEquals(fresh?.hash, now?.hash);
  assertEquals((await hashArtifact(abs, "d", true, state, cache))?.hash, fresh?.hash);
});

test("a directory Pivot placed is remembered with the stamps it knows: the next look reads nothing", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(`${abs}/sub`, { recursive: true });
  await writeOld(`${abs}/sub/b.txt`, "b");
  await writeOld(`${abs}/a.txt`, "a");
  const files = ["sub/b.txt", "a.txt"].map((path) => ({
    path,
    hash: path === "a.txt" ? "000000000000000a" : "000000000000000b",
    stamp: stampOf(Deno.statSync(`${abs}/${path}`)),
  }));
  const manifest = { files: files.map(({ path, hash }) => ({ path, hash })).reverse() };
  const hash = await cache.storeManifest(manifest);
  // Given out of order: remembered in listFiles order, as a walk digests them.
  await rememberDirectory(abs, "d", files, hash, state);
  const seen = await hashArtifact(abs, "d", true, state, cache);
  assertEquals([seen?.hash, seen?.isDir && seen.files], [hash, 2]);
  assertEquals(seen?.isDir && seen.manifest, undefined, "answered by the index, not re-hashed");
});

test("a directory placed under a lease is vouched for to every reader while it lasts, then reused once as any walk", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(abs);
  await writeOld(`${abs}/a.txt`, "a");
  const files = [{
    path: "a.txt",
    hash: await hashBytes(new TextEncoder().encode("a")),
    stamp: stampOf(Deno.statSync(`${abs}/a.txt`)),
  }];
  const hash = await cache.storeManifest({
    files: files.map(({ path, hash }) => ({ path, hash })),
  });
  const lease = { held: true };
  await rememberDirectory(abs, "d", files, hash, state, undefined, lease);
  // Edited by hand after the placing: the lease vouches for the tree placed
  // (the edit is the race an edit after a walk is), to every reader…
  await writeOld(`${abs}/a.txt`, "edited");
  for (const reader of ["first", "second"]) {
    const taken = await hashArtifact(abs, "d", true, state, cache, { reuse: true });
    assertEquals(taken?.hash, hash, reader);
    assert(taken?.isDir && taken.reused && taken.vouched, reader);
    // …with the placed stamps, which the edit changed: the next look sees it.
    assert(taken.stamps !== undefined, reader);
  }
  // Without reuse, the edit is seen (the index holds the placed stamps).
  const fresh = await hashArtifact(abs, "d", true, state, cache);
  assertNotEquals(fresh?.hash, hash);
  // The lease over, a placed tree is reused once and never vouched for.
  await rememberDirectory(abs, "d", files, hash, state, undefined, lease);
  lease.held = false;
  const once = await hashArtifact(abs, "d", true, state, cache, { reuse: true });
  assert(once?.isDir && once.reused && once.vouched === undefined);
  const again = await hashArtifact(abs, "d", true, state, cache, { reuse: true });
  assertEquals([again?.hash, again?.isDir && again.reused], [fresh?.hash, undefined]);
});

test("indexHolds: only the very files and stamps the index recorded for that hash, settled", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(`${abs}/sub`, { recursive: true });
  await writeOld(`${abs}/a.txt`, "a");
  await writeOld(`${abs}/sub/b.txt`, "b");
  const hashed = await hashArtifact(abs, "d", true, state, cache);
  assert(hashed?.isDir);
  const stamps = () =>
    ["a.txt", "sub/b.txt"].map((path) => ({
      path,
      stamp: stampOf(Deno.statSync(`${abs}/${path}`)),
    }));
  assertEquals(await indexHolds(state, "d", hashed.hash, stamps()), true);
  assertEquals(await indexHolds(state, "d", "0000000000000000", stamps()), false, "another hash");
  assertEquals(await indexHolds(state, "other", hashed.hash, stamps()), false, "another directory");
  assertEquals(await indexHolds(state, "d", hashed.hash, stamps().slice(1)), false, "a file fewer");
  const moved = stamps();
  moved[1] = { path: "sub/b.txt", stamp: { ...moved[1].stamp, mtime: moved[1].stamp.mtime + 1 } };
  assertEquals(await indexHolds(state, "d", hashed.hash, moved), false, "a stamp changed");

  // A file modified moments ago leaves the index unsettled: it proves nothing.
  await Deno.writeTextFile(`${abs}/a.txt`, "A");
  const racy = await hashArtifact(abs, "d", true, state, cache);
  assert(racy?.isDir);
  assertEquals(await indexHolds(state, "d", racy.hash, stamps()), false);
});

test("a directory placed again with the stamps recorded keeps its index; a change after is still seen", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const abs = dir.path("d");
  await Deno.mkdir(abs, { recursive: true });
  await writeOld(`${abs}/a.txt`, "a");
  await writeOld(`${abs}/b.txt`, "b");
  const first = await hashArtifact(abs, "d", true, state, cache);
  assert(first?.isDir && first.manifest);
  await state.flush();
  const files = first.manifest.files.map(({ path, hash }) => ({
    path,
    hash,
    stamp: stampOf(Deno.statSync(`${abs}/${path}`)),
  }));
  await rememberDirectory(abs, "d", files, first.hash, state);
  const again = await hashArtifact(abs, "d", true, state, cache);
  assertEquals([again?.hash, again?.isDir && again.manifest], [first.hash, undefined]);
  await writeOld(`${abs}/b.txt`, "B");
  const changed = await hashArtifact(abs, "d", true, state, cache);
  assert(changed?.isDir && changed.manifest);
  assertNotEquals(changed.hash, first.hash);
  assertEquals(changed.manifest.files.map((f) => f.hash), [
    await hashBytes("a"),
    await hashBytes("B"),
  ]);
});

test("objectsIntact: the objects of a manifest with exactly the stamps last checked", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const objects = [
    { hash: "000000000000000a", stamp: { mtime: 1, size: 2, ino: 3 } },
    { hash: "000000000000000b", stamp: { mtime: 4, size: 5, ino: 6 } },
  ];
  assertEquals(await objectsIntact(state, "00000000000000ff", objects), false, "never checked");
  await rememberObjectsIntact(state, "00000000000000ff", objects);
  await state.flush();
  assertEquals(await objectsIntact(state, "00000000000000ff", objects), true);
  assertEquals(await objectsIntact(state, "00000000000000fe", objects), false, "another manifest");
  const written = [objects[0], { ...objects[1], stamp: { mtime: 7, size: 5, ino: 6 } }];
  assertEquals(await objectsIntact(state, "00000000000000ff", written), false, "written in place");
  assertEquals(await objectsIntact(state, "00000000000000ff", [objects[0]]), false);
});

test("the per-file index keeps the rows of files with long paths (chunks stay under KV's value cap)", async () => {
  await using dir = await tempDir();
  const long = "x".repeat(150);
  await Deno.mkdir(dir.path("d"));
  const names = Array.from({ length: 450 }, (_, i) => `${long}${String(i).padStart(3, "0")}.txt`);
  for (const name of names) await writeOld(dir.path(`d/${name}`), name.slice(-7));
  {
    await using state = await openState(dir.root);
    await hashArtifact(dir.path("d"), "d", true, state);
  }
  // Reopened (the rows come from the store), one file's content changed
  // with its stamp kept, and another's stamp changed: only a stored row
  // can still give the first file's old hash.
  await using state = await openState(dir.root);
  await rewriteKeepingStamp(dir.path(`d/${names[0]}`), "changed");
  await writeOld(dir.path(`d/${names[449]}`), "other!!");
  const hashed = await hashArtifact(dir.path("d"), "d", true, state);
  assert(hashed?.isDir && hashed.manifest);
  const byPath = new Map(hashed.manifest.files.map((f) => [f.path, f.hash]));
  assertEquals(byPath.get(names[0]), await hashBytes(names[0].slice(-7)), "row kept: not re-read");
  assertEquals(byPath.get(names[449]), await hashBytes("other!!"));
});

test("a changed directory of several chunks: stored rows are merged in path order, each file matched", async () => {
  await using dir = await tempDir();
  const names: string[] = [];
  for (let d = 0; d < 3; d++) {
    await Deno.mkdir(dir.path(`d/s${d}`), { recursive: true });
    for (let i = 0; i < 300; i++) names.push(`s${d}/f${String(i).padStart(3, "0")}.txt`);
  }
  for (const name of names) await writeOld(dir.path(`d/${name}`), `v1 ${name}`);
  {
    await using state = await openState(dir.root);
    await hashArtifact(dir.path("d"), "d", true, state);
  }
  // Reopened: rows come from the store (900 rows: three chunks). Files whose
  // stamps are kept before and after every change still give their stored
  // hash (not re-read); a file added early shifts every later row.
  await rewriteKeepingStamp(dir.path(`d/${names[1]}`), `v2 ${names[1]}`);
  await rewriteKeepingStamp(dir.path(`d/${names[899]}`), `v2 ${names[899]}`);
  await writeOld(dir.path("d/s0/f000a.txt"), "added");
  await Deno.remove(dir.path(`d/${names[450]}`));
  await writeOld(dir.path(`d/${names[600]}`), "modified");
  await using state = await openState(dir.root);
  const hashed = await hashArtifact(dir.path("d"), "d", true, state);
  assert(hashed?.isDir && hashed.manifest);
  const expected = new Map<string, string>();
  for (const name of names) expected.set(name, await hashBytes(`v1 ${name}`));
  expected.set("s0/f000a.txt", await hashBytes("added"));
  expected.delete(names[450]);
  expected.set(names[600], await hashBytes("modified"));
  const sorted = [...expected.keys()].sort();
  assertEquals(hashed.manifest.files, sorted.map((path) => ({ path, hash: expected.get(path)! })));
  assertEquals(hashed.files, 900);
  // Hashed once more (rows now as written by this hash): the same answer.
  await state.flush();
  await using again = await openState(dir.root);
  assertEquals((await hashArtifact(dir.path("d"), "d", true, again))?.hash, hashed.hash);
});

test("stored rows out of path order are still each matched to their file", async () => {
  await using dir = await tempDir();
  await Deno.mkdir(dir.path("d"));
  const names = Array.from({ length: 50 }, (_, i) => `f${String(i).padStart(2, "0")}.txt`);
  for (const name of names) await writeOld(dir.path(`d/${name}`), `v1 ${name}`);
  {
    await using state = await openState(dir.root);
    await hashArtifact(dir.path("d"), "d", true, state);
    await state.flush();
    // Each chunk of rows (one; several under PIVOT_TEST_THRESHOLDS=small)
    // stored reversed (an index Pivot did not write in order).
    let stored = 0;
    for (let chunk = 0;; chunk++) {
      const rows = await state.get<unknown[]>([NS.dirFiles, "d", chunk]);
      if (rows === undefined) break;
      stored += rows.length;
      state.defer([NS.dirFiles, "d", chunk], [...rows].reverse());
    }
    assertEquals(stored, 50);
  }
  await rewriteKeepingStamp(dir.path(`d/${names[10]}`), `v2 ${names[10]}`);
  await writeOld(dir.path(`d/${names[20]}`), "modified");
  await using state = await openState(dir.root);
  const hashed = await hashArtifact(dir.path("d"), "d", true, state);
  assert(hashed?.isDir && hashed.manifest);
  const byPath = new Map(hashed.manifest.files.map((f) => [f.path, f.hash]));
  assertEquals(byPath.get(names[10]), await hashBytes(`v1 ${names[10]}`), "row kept: not re-read");
  assertEquals(byPath.get(names[20]), await hashBytes("modified"));
  assertEquals(byPath.get(names[30]), await hashBytes(`v1 ${names[30]}`));
});

test("listFiles sorts every path by UTF-16 code units, whatever the names beside a directory's", async () => {
  await using dir = await tempDir();
  // Names sorting just before and after "/" (".", "-", "0") beside
  // directories of the same stem, nested, one reached through a symlink,
  // and one name outside the BMP (UTF-16 order differs from code points).
  const files = [
    "a",
    "a-b",
    "a.txt",
    "a0",
    "b/x",
    "b-/y",
    "b.d/z",
    "b0",
    "b/c/d",
    "b/c.txt",
    "b/c-/e",
    "b/c0",
    "\u{1F600}.txt",
    "\uFF01.txt",
    "t/x",
  ];
  for (const file of files) {
    await Deno.mkdir(dir.path(`d/${file.split("/").slice(0, -1).join("/")}`), { recursive: true });
    await Deno.writeTextFile(dir.path(`d/${file}`), file);
  }
  await Deno.symlink(dir.path("d/t"), dir.path("d/s"));
  await Deno.symlink(dir.path("d/a"), dir.path("d/a-link"));
  const expected = [...files, "s/x", "a-link"].sort();
  assertEquals(listFiles(dir.path("d")), expected);
});

test("a directory of over PARALLEL_FROM files (helper thread started before the listing) sees every kind of change", async () => {
  await using dir = await tempDir();
  const count = PARALLEL_FROM + 116;
  // In 17 sub-directories (of 1,024 files; 32 under PIVOT_TEST_THRESHOLDS=small).
  const per = PARALLEL_FROM / 16;
  const names: string[] = [];
  for (let d = 0; d * per < count; d++) Deno.mkdirSync(dir.path(`d/s${d}`), { recursive: true });
  for (let i = 0; i < count; i++) {
    const name = `s${Math.floor(i / per)}/f${String(i).padStart(5, "0")}.txt`;
    names.push(name);
    Deno.writeTextFileSync(dir.path(`d/${name}`), `v1 ${i}`);
  }
  const expected = new Map<string, string>();
  for (let i = 0; i < count; i++) expected.set(names[i], await hashBytes(`v1 ${i}`));
  const check = async (state: StateStore) => {
    const hashed = await hashArtifact(
      dir.path("d"),
      "d",
      true,
      state,
      new Cache(dir.path("cache")),
    );
    const sorted = [...expected.keys()].sort();
    assert(hashed?.isDir);
    assertEquals(hashed.files, sorted.length);
    assertEquals(
      hashed.hash,
      await hashManifest({ files: sorted.map((path) => ({ path, hash: expected.get(path)! })) }),
    );
  };
  await markClockAfter(dir.path("state"), dir.path(`d/${names[count - 1]}`));
  {
    // The first hash records the count: the next one starts the helper early.
    await using state = await openState(dir.root);
    await check(state);
  }
  // A same-size edit, a file added, one removed, one renamed, in different
  // sub-directories (the helper takes blocks from the end, this thread from
  // the start; on a loaded machine the helper may take none: its own part is
  // tested in stat_many_test.ts).
  Deno.writeTextFileSync(dir.path(`d/${names[count - 2]}`), `v2 ${count - 2}`);
  expected.set(names[count - 2], await hashBytes(`v2 ${count - 2}`));
  Deno.writeTextFileSync(dir.path("d/s0/f00000a.txt"), "added");
  expected.set("s0/f00000a.txt", await hashBytes("added"));
  Deno.removeSync(dir.path(`d/${names[Math.floor(count / 2)]}`));
  expected.delete(names[Math.floor(count / 2)]);
  Deno.renameSync(dir.path(`d/${names[10]}`), dir.path("d/s9/renamed.txt"));
  expected.set("s9/renamed.txt", expected.get(names[10])!);
  expected.delete(names[10]);
  {
    await using state = await openState(dir.root);
    await check(state);
    // Racy now (written after this store's marker): a same-size rewrite that
    // keeps the stamp is read again.
    const racy = dir.path(`d/${names[count - 3]}`);
    Deno.writeTextFileSync(racy, `v3 ${count - 3}`);
    expected.set(names[count - 3], await hashBytes(`v3 ${count - 3}`));
    await check(state);
    await rewriteKeepingStamp(racy, `v4 ${count - 3}`);
    expected.set(names[count - 3], await hashBytes(`v4 ${count - 3}`));
    await check(state);
  }
  await markClockAfter(dir.path("state"), dir.path(`d/${names[count - 3]}`));
  await using state = await openState(dir.root);
  await check(state);
});
