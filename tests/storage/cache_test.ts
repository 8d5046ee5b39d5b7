import assert from "node:assert/strict";
import { Cache, CHECKOUT_MODES, type DirManifest, hashManifest } from "../../lib/storage/cache.ts";
import { hashBytes, hashFile } from "../../lib/storage/hash.ts";
import { listTree, openState, type TempDir, tempDir } from "../_helpers.ts";

async function sourceFile(dir: TempDir, name: string, content: string) {
  const path = dir.join(name);
  await Deno.writeTextFile(path, content);
  return { path, hash: await hashFile(path) };
}

function tempFiles(names: string[]): string[] {
  return names.filter((name) => name.endsWith(".tmp"));
}

Deno.test("objectPath splits the hash into a two-character directory", () => {
  const cache = new Cache("/c");
  assert.equal(cache.objectPath("0123456789abcdef"), "/c/files/01/23456789abcdef");
});

Deno.test("storeFile by copy makes a read-only object with the file's content", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  assert.equal(await cache.has(src.hash), false);
  await cache.storeFile(src.path, src.hash, false);
  assert.equal(await cache.has(src.hash), true);
  const object = cache.objectPath(src.hash);
  assert.equal(await Deno.readTextFile(object), "hello");
  assert.equal((await Deno.stat(object)).mode! & 0o777, 0o444);
  assert.notEqual((await Deno.stat(object)).ino, (await Deno.stat(src.path)).ino);
  assert.notEqual((await Deno.stat(src.path)).mode! & 0o200, 0, "the source stays writable");
});

Deno.test("storeFile with link hard-links the object to the source", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, true);
  const object = await Deno.stat(cache.objectPath(src.hash));
  assert.equal(object.ino, (await Deno.stat(src.path)).ino);
  assert.equal(object.mode! & 0o777, 0o444);
});

Deno.test("storeFile of a hash already cached leaves the object alone", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const first = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(first.path, first.hash, false);
  const before = await Deno.stat(cache.objectPath(first.hash));
  const second = await sourceFile(dir, "b.txt", "hello");
  await cache.storeFile(second.path, second.hash, true);
  assert.equal((await Deno.stat(cache.objectPath(first.hash))).ino, before.ino);
});

Deno.test("storeFile of a missing source throws and leaves no temp file", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  await assert.rejects(cache.storeFile(dir.join("missing"), "0123456789abcdef", true));
  await assert.rejects(cache.storeFile(dir.join("missing"), "0123456789abcdef", false));
  assert.deepEqual(tempFiles(await listTree(cache.dir)), []);
  assert.equal(await cache.has("0123456789abcdef"), false);
});

Deno.test("storeManifest writes a read-only object named by the manifest's hash", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const manifest: DirManifest = { files: [{ path: "a.txt", hash: "0123456789abcdef" }] };
  const hash = await cache.storeManifest(manifest);
  assert.equal(hash, await hashManifest(manifest));
  assert.equal(await hashFile(cache.objectPath(hash)), hash);
  assert.equal((await Deno.stat(cache.objectPath(hash))).mode! & 0o777, 0o444);
  assert.equal(await cache.storeManifest(manifest), hash);
});

Deno.test("a manifest's hash is canonical: entry key order does not matter", async () => {
  const hash = await hashManifest({
    files: [{ hash: "h", path: "p" } as { path: string; hash: string }],
  });
  assert.equal(hash, await hashBytes('{"files":[{"hash":"h","path":"p"}]}'));
});

Deno.test("readManifest returns what storeManifest stored", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const manifest: DirManifest = {
    files: [{ path: "a.txt", hash: "0123456789abcdef" }, { path: "b/c", hash: "fedcba9876543210" }],
  };
  assert.deepEqual(await cache.readManifest(await cache.storeManifest(manifest)), manifest);
});

Deno.test("readManifest of a missing object is undefined", async () => {
  await using dir = await tempDir();
  assert.equal(await new Cache(dir.join("cache")).readManifest("0123456789abcdef"), undefined);
});

Deno.test("readManifest of a corrupted manifest object is undefined", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const hash = await cache.storeManifest({ files: [{ path: "a", hash: "0123456789abcdef" }] });
  const object = cache.objectPath(hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, '{"files":[]}');
  assert.equal(await cache.readManifest(hash), undefined);
});

Deno.test("verify accepts an intact object and rejects a missing one", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  assert.equal(await cache.verify(src.hash, state), true);
  assert.equal(await cache.verify("0123456789abcdef", state), false);
});

Deno.test("verify reports a corrupted object, moves it aside and treats it as missing", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  const object = cache.objectPath(src.hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "HELLO");
  const reports: string[] = [];
  assert.equal(await cache.verify(src.hash, state, (m) => reports.push(m)), false);
  assert.equal(reports.length, 1);
  assert.match(reports[0], new RegExp(`${src.hash}.*corrupt.*${await hashBytes("HELLO")}`));
  assert.equal(await cache.has(src.hash), false);
  assert.equal(await Deno.readTextFile(`${object}.corrupt`), "HELLO");
  assert.equal(await cache.verify(src.hash, state, (m) => reports.push(m)), false);
  assert.equal(reports.length, 1);
});

Deno.test("verify trusts an intact object's remembered stamp and does not re-read it", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.path);
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  assert.equal(await cache.verify(src.hash, state), true);
  // Corrupt the object in place, keeping its mtime, size and inode: verify
  // answers from the stamp (the state store's contract), so it still passes.
  const object = cache.objectPath(src.hash);
  const { mtime, atime } = await Deno.stat(object);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "HELLO");
  await Deno.chmod(object, 0o444);
  await Deno.utime(object, atime!, mtime!);
  assert.equal(await cache.verify(src.hash, state), true);
});

for (const mode of CHECKOUT_MODES) {
  Deno.test(`place by ${mode} puts the object's content at the destination`, async () => {
    await using dir = await tempDir();
    const cache = new Cache(dir.join("cache"));
    const src = await sourceFile(dir, "a.txt", "hello");
    await cache.storeFile(src.path, src.hash, false);
    const dest = dir.join("out.txt");
    await cache.place(src.hash, dest, mode);
    assert.equal(await Deno.readTextFile(dest), "hello");
    const link = await Deno.lstat(dest);
    const object = await Deno.stat(cache.objectPath(src.hash));
    if (mode === "symlink") {
      assert.ok(link.isSymlink);
      assert.equal(await Deno.readLink(dest), cache.objectPath(src.hash));
    } else if (mode === "hardlink") {
      assert.equal(link.ino, object.ino);
    } else {
      assert.notEqual(link.ino, object.ino);
      assert.equal(link.mode! & 0o777, 0o644);
    }
    assert.deepEqual(tempFiles(await listTree(dir.path)), []);
  });
}

Deno.test("place of a missing object throws and leaves no temp file", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  for (const mode of ["hardlink", "copy"] as const) {
    await assert.rejects(cache.place("0123456789abcdef", dir.join("out.txt"), mode));
  }
  assert.deepEqual(await listTree(dir.path), []);
});

Deno.test("a copy placed from the cache is writable without touching the object", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.join("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  await cache.place(src.hash, dir.join("out.txt"), "copy");
  await Deno.writeTextFile(dir.join("out.txt"), "changed");
  assert.equal(await Deno.readTextFile(cache.objectPath(src.hash)), "hello");
});
