import assert from "node:assert/strict";
import { hashManifest } from "../../lib/storage/cache.ts";
import { hashArtifact, listFiles } from "../../lib/storage/artifact_hash.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import type { StateStore } from "../../lib/storage/state.ts";
import { openState, tempDir } from "../_helpers.ts";

/** Overwrite `path` with same-size `content`, keeping its inode and mtime. */
async function rewriteKeepingStamp(path: string, content: string): Promise<void> {
  const before = await Deno.stat(path);
  assert.equal(new TextEncoder().encode(content).length, before.size);
  await Deno.writeTextFile(path, content);
  await Deno.utime(path, before.atime!, before.mtime!);
  const after = await Deno.stat(path);
  assert.equal(after.ino, before.ino);
  assert.equal(after.mtime!.getTime(), before.mtime!.getTime());
}

/** Write `path` as a file last modified a minute ago (older than the racy window). */
async function writeOld(path: string, content: string): Promise<void> {
  await Deno.writeTextFile(path, content);
  const old = new Date(Date.now() - 60_000);
  await Deno.utime(path, old, old);
}

/** The hash of a file through the state cache, as `hashArtifact` gives it for a file. */
async function hashFileCached(abs: string, rel: string, state: StateStore) {
  return (await hashArtifact(abs, rel, false, state))?.hash;
}

Deno.test("hashFileCached hashes a file's content", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.writeTextFile(dir.join("a.txt"), "hello");
  assert.equal(await hashFileCached(dir.join("a.txt"), "a.txt", state), await hashBytes("hello"));
});

Deno.test("hashFileCached of a missing path or a directory is undefined", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  assert.equal(await hashFileCached(dir.join("missing"), "missing", state), undefined);
  await Deno.mkdir(dir.join("d"));
  assert.equal(await hashFileCached(dir.join("d"), "d", state), undefined);
});

Deno.test("an unchanged file is not re-read: same stamp returns the cached hash", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const path = dir.join("a.txt");
  await writeOld(path, "hello");
  const first = await hashFileCached(path, "a.txt", state);
  // Same size, inode and mtime but other bytes: the stamp contract says the
  // file is unchanged, so the (now stale) cached hash comes back.
  await rewriteKeepingStamp(path, "HELLO");
  assert.equal(await hashFileCached(path, "a.txt", state), first);
});

Deno.test("a changed mtime makes the file be re-hashed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const path = dir.join("a.txt");
  await Deno.writeTextFile(path, "hello");
  await hashFileCached(path, "a.txt", state);
  await rewriteKeepingStamp(path, "HELLO");
  const { atime, mtime } = await Deno.stat(path);
  await Deno.utime(path, atime!, new Date(mtime!.getTime() + 1000));
  assert.equal(await hashFileCached(path, "a.txt", state), await hashBytes("HELLO"));
});

Deno.test("the file-hash cache survives reopening the state store", async () => {
  await using dir = await tempDir();
  const path = dir.join("a.txt");
  await writeOld(path, "hello");
  {
    await using state = await openState(dir.path);
    await hashFileCached(path, "a.txt", state);
  }
  await rewriteKeepingStamp(path, "HELLO");
  await using state = await openState(dir.path);
  assert.equal(await hashFileCached(path, "a.txt", state), await hashBytes("hello"));
});

Deno.test("hashArtifact of a file gives its hash; of the wrong kind, undefined", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.writeTextFile(dir.join("a.txt"), "hello");
  await Deno.mkdir(dir.join("d"));
  assert.deepEqual(await hashArtifact(dir.join("a.txt"), "a.txt", false, state), {
    isDir: false,
    hash: await hashBytes("hello"),
  });
  assert.equal(await hashArtifact(dir.join("a.txt"), "a.txt", true, state), undefined);
  assert.equal(await hashArtifact(dir.join("d"), "d", false, state), undefined);
  assert.equal(await hashArtifact(dir.join("missing"), "missing", true, state), undefined);
});

Deno.test("hashArtifact of a directory is the hash of its sorted file manifest", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.mkdir(dir.join("d/sub"), { recursive: true });
  await Deno.writeTextFile(dir.join("d/b.txt"), "b");
  await Deno.writeTextFile(dir.join("d/sub/c.txt"), "c");
  await Deno.writeTextFile(dir.join("d/a.txt"), "a");
  const result = await hashArtifact(dir.join("d"), "d", true, state);
  const manifest = {
    files: [
      { path: "a.txt", hash: await hashBytes("a") },
      { path: "b.txt", hash: await hashBytes("b") },
      { path: "sub/c.txt", hash: await hashBytes("c") },
    ],
  };
  assert.deepEqual(result, { isDir: true, hash: await hashManifest(manifest), manifest });
});

Deno.test("a directory's hash changes when a file inside changes, is added or renamed", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.mkdir(dir.join("d"));
  await Deno.writeTextFile(dir.join("d/a.txt"), "a");
  const hashOf = async () => (await hashArtifact(dir.join("d"), "d", true, state))!.hash;
  const seen = new Set([await hashOf()]);
  await Deno.writeTextFile(dir.join("d/a.txt"), "changed");
  seen.add(await hashOf());
  await Deno.writeTextFile(dir.join("d/b.txt"), "b");
  seen.add(await hashOf());
  await Deno.rename(dir.join("d/b.txt"), dir.join("d/c.txt"));
  seen.add(await hashOf());
  assert.equal(seen.size, 4);
});

Deno.test("files inside a directory use the file-hash cache keyed by rel/path", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.mkdir(dir.join("d"));
  await writeOld(dir.join("d/a.txt"), "a");
  const first = await hashArtifact(dir.join("d"), "d", true, state);
  const stamp = await Deno.stat(dir.join("d/a.txt"));
  assert.equal(
    await state.cachedFileHash("d/a.txt", {
      mtime: stamp.mtime!.getTime(),
      size: stamp.size,
      ino: stamp.ino!,
    }),
    await hashBytes("a"),
  );
  await rewriteKeepingStamp(dir.join("d/a.txt"), "A");
  assert.deepEqual(await hashArtifact(dir.join("d"), "d", true, state), first);
});

Deno.test("symlinks are followed, to files and to directories", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.mkdir(dir.join("elsewhere/inner"), { recursive: true });
  await Deno.writeTextFile(dir.join("elsewhere/f.txt"), "f");
  await Deno.writeTextFile(dir.join("elsewhere/inner/g.txt"), "g");
  await Deno.mkdir(dir.join("d"));
  await Deno.symlink(dir.join("elsewhere/f.txt"), dir.join("d/link.txt"));
  await Deno.symlink(dir.join("elsewhere/inner"), dir.join("d/linked_dir"));
  assert.deepEqual(await listFiles(dir.join("d")), ["link.txt", "linked_dir/g.txt"]);
  const result = await hashArtifact(dir.join("d"), "d", true, state);
  assert.deepEqual(result?.isDir && result.manifest.files, [
    { path: "link.txt", hash: await hashBytes("f") },
    { path: "linked_dir/g.txt", hash: await hashBytes("g") },
  ]);
  assert.equal(
    await hashFileCached(dir.join("d/link.txt"), "d/link.txt", state),
    await hashBytes("f"),
  );
});

Deno.test("an empty directory has the hash of an empty manifest", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  await Deno.mkdir(dir.join("d"));
  const result = await hashArtifact(dir.join("d"), "d", true, state);
  assert.equal(result?.hash, await hashManifest({ files: [] }));
});

Deno.test("a broken symlink inside a directory is a user error naming it", async () => {
  const dir = await Deno.makeTempDir();
  try {
    await Deno.mkdir(`${dir}/data`);
    await Deno.symlink(`${dir}/nowhere`, `${dir}/data/link`);
    const { listFiles } = await import("../../lib/storage/artifact_hash.ts");
    const { PivotError } = await import("../../lib/errors.ts");
    let error: unknown;
    try {
      listFiles(`${dir}/data`);
    } catch (e) {
      error = e;
    }
    if (
      !(error instanceof PivotError) || !/data\/link is a broken symbolic link/.test(error.message)
    ) {
      throw new Error(`expected a PivotError, got ${error}`);
    }
  } finally {
    await Deno.remove(dir, { recursive: true });
  }
});

Deno.test("a file modified moments ago is hashed but its hash is not cached", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const path = dir.join("a.txt");
  await Deno.writeTextFile(path, "hello");
  await hashFileCached(path, "a.txt", state);
  // Rewritten within the same clock tick, a file keeps its stamp: the racy
  // guard makes sure the new content is read, not a stale cached hash.
  await rewriteKeepingStamp(path, "HELLO");
  assert.equal(await hashFileCached(path, "a.txt", state), await hashBytes("HELLO"));
});
