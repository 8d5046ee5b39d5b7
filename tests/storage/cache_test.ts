import {
  Cache,
  CHECKOUT_MODES,
  CreatePace,
  type DirManifest,
  hashManifest,
} from "../../lib/storage/cache.ts";
import { SMALL_COPY } from "../../lib/storage/copy.ts";
import { ObjectWriter } from "../../lib/storage/object_writer.ts";
import { canonicalJson, hashBytes, hashFile } from "../../lib/storage/hash.ts";
import { stampOf } from "../../lib/storage/state.ts";
import { readSmallFile } from "../../lib/storage/artifact_hash.ts";
import {
  listTree,
  openState,
  otherFilesystem,
  type TempDir,
  tempDir,
  writeInPlaceLater,
} from "../_project.ts";
import { assert, assertEquals, assertMatch, assertNotEquals, assertRejects } from "../_assert.ts";
import { output, test } from "../_harness.ts";

async function sourceFile(dir: TempDir, name: string, content: string) {
  const path = dir.path(name);
  await Deno.writeTextFile(path, content);
  return { path, hash: await hashFile(path) };
}

function tempFiles(names: string[]): string[] {
  return names.filter((name) => name.endsWith(".tmp"));
}

test("objectPath splits the hash into a two-character directory", () => {
  const cache = new Cache("/c");
  assertEquals(cache.objectPath("0123456789abcdef"), "/c/files/01/23456789abcdef");
});

test("storeFile by copy makes a read-only object with the file's content", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  assertEquals(await cache.has(src.hash), false);
  await cache.storeFile(src.path, src.hash, false);
  assertEquals(await cache.has(src.hash), true);
  const object = cache.objectPath(src.hash);
  assertEquals(await Deno.readTextFile(object), "hello");
  assertEquals((await Deno.stat(object)).mode! & 0o777, 0o444);
  assertNotEquals((await Deno.stat(object)).ino, (await Deno.stat(src.path)).ino);
  assertNotEquals((await Deno.stat(src.path)).mode! & 0o200, 0, "the source stays writable");
});

test("storeFile with link hard-links the object to the source", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, true);
  const object = await Deno.stat(cache.objectPath(src.hash));
  assertEquals(object.ino, (await Deno.stat(src.path)).ino);
  assertEquals(object.mode! & 0o777, 0o444);
});

test("storeFile with link: the object is the source's inode, read-only, with the stamp it was read with", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"), { state });
  const src = await sourceFile(dir, "a.txt", "hello");
  const { stamp: read } = readSmallFile(src.path);
  const stored = await cache.storeFile(src.path, src.hash, true, cache.batch(1), read);
  const object = await Deno.stat(cache.objectPath(src.hash));
  assertEquals(object.ino, (await Deno.stat(src.path)).ino);
  assertEquals(object.mode! & 0o777, 0o444);
  assertEquals(stored, { stamp: stampOf(object), made: true });
  assertEquals(await state.objectStamp(src.hash), stampOf(object), "the object's own stamp");
  assertEquals(tempFiles(await listTree(cache.dir)), []);
});

test(
  "storeFile with link, the link refused (another filesystem): a read-only copy, the source left writable",
  { ignore: otherFilesystem() === undefined },
  async () => {
    await using dir = await tempDir();
    await using elsewhere = await tempDir({ parent: otherFilesystem() });
    await using state = await openState(dir.root);
    const cache = new Cache(elsewhere.path("cache"), { state });
    const src = await sourceFile(dir, "a.txt", "hello");
    const modeBefore = (await Deno.stat(src.path)).mode! & 0o777;
    const { stamp: read } = readSmallFile(src.path);
    const stored = await cache.storeFile(src.path, src.hash, true, cache.batch(1), read);
    const [object, source] = [
      await Deno.stat(cache.objectPath(src.hash)),
      await Deno.stat(src.path),
    ];
    assertNotEquals(object.ino, source.ino);
    assertEquals(await Deno.readTextFile(cache.objectPath(src.hash)), "hello");
    assertEquals(object.mode! & 0o777, 0o444);
    assertEquals([source.mode! & 0o777, source.nlink], [modeBefore, 1], "the source as it was");
    assertEquals(
      stored,
      { stamp: stampOf(object), made: true },
      "the copy's stamp, not the source's",
    );
    assertEquals(await state.objectStamp(src.hash), stampOf(object));
    assertEquals(tempFiles(await listTree(cache.dir)), []);
  },
);

test("storeFile with link over an intact object made after the batch's listing: taken as present, the source left alone", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"), { state });
  const other = new Cache(dir.path("cache"), { state });
  const src = await sourceFile(dir, "a.txt", "shared");
  const batch = cache.batch(1);
  assertEquals(batch.absent(src.hash), true);
  await other.storeFile(src.path, src.hash, false);
  const made = stampOf(await Deno.stat(cache.objectPath(src.hash)));
  const stored = await cache.storeFile(
    src.path,
    src.hash,
    true,
    batch,
    readSmallFile(src.path).stamp,
  );
  assertEquals(stored, { stamp: made, made: false });
  const source = await Deno.stat(src.path);
  assertNotEquals(source.ino, made.ino, "the object stays the other writer's");
  assertEquals([source.nlink, (source.mode! & 0o200) !== 0], [1, true], "the source as it was");
});

test("storeFile with link over a corrupt object made after the batch's listing: moved aside, linked afresh", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const warnings: string[] = [];
  const cache = new Cache(dir.path("cache"), { state, warn: (m) => warnings.push(m) });
  const other = new Cache(dir.path("cache"), { state });
  const src = await sourceFile(dir, "a.txt", "good");
  const batch = cache.batch(1);
  assertEquals(batch.absent(src.hash), true);
  await other.storeFile(src.path, src.hash, false);
  const object = cache.objectPath(src.hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil!");
  const stored = await cache.storeFile(
    src.path,
    src.hash,
    true,
    batch,
    readSmallFile(src.path).stamp,
  );
  assertEquals(stored.made, true);
  assertEquals(await Deno.readTextFile(object), "good");
  assertEquals((await Deno.stat(object)).ino, (await Deno.stat(src.path)).ino);
  assertEquals(await Deno.readTextFile(`${object}.corrupt`), "evil!");
  assertEquals(warnings.length, 1);
  assertEquals(await state.objectStamp(src.hash), stampOf(await Deno.stat(object)));
});

test("storeFile of a hash already cached leaves the object alone", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const first = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(first.path, first.hash, false);
  const before = await Deno.stat(cache.objectPath(first.hash));
  const second = await sourceFile(dir, "b.txt", "hello");
  await cache.storeFile(second.path, second.hash, true);
  assertEquals((await Deno.stat(cache.objectPath(first.hash))).ino, before.ino);
});

test("storeFile of a missing source throws and leaves no temp file", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  await assertRejects(() => cache.storeFile(dir.path("missing"), "0123456789abcdef", true));
  await assertRejects(() => cache.storeFile(dir.path("missing"), "0123456789abcdef", false));
  assertEquals(tempFiles(await listTree(cache.dir)), []);
  assertEquals(await cache.has("0123456789abcdef"), false);
});

test("storeManifest writes a read-only object named by the manifest's hash", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const manifest: DirManifest = { files: [{ path: "a.txt", hash: "0123456789abcdef" }] };
  const hash = await cache.storeManifest(manifest);
  assertEquals(hash, await hashManifest(manifest));
  assertEquals(await hashFile(cache.objectPath(hash)), hash);
  assertEquals((await Deno.stat(cache.objectPath(hash))).mode! & 0o777, 0o444);
  assertEquals(await cache.storeManifest(manifest), hash);
});

test("a manifest's hash is canonical: entry key order does not matter", async () => {
  const hash = await hashManifest({
    files: [{ hash: "h", path: "p" } as { path: string; hash: string }],
  });
  assertEquals(hash, await hashBytes('{"files":[{"hash":"h","path":"p"}]}'));
});

test("readManifest returns what storeManifest stored", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const manifest: DirManifest = {
    files: [{ path: "a.txt", hash: "0123456789abcdef" }, { path: "b/c", hash: "fedcba9876543210" }],
  };
  assertEquals(await cache.readManifest(await cache.storeManifest(manifest)), manifest);
});

test("readManifest of a missing object is undefined", async () => {
  await using dir = await tempDir();
  assertEquals(await new Cache(dir.path("cache")).readManifest("0123456789abcdef"), undefined);
});

test("readManifest of a corrupted manifest object is undefined", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const hash = await cache.storeManifest({ files: [{ path: "a", hash: "0123456789abcdef" }] });
  const object = cache.objectPath(hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, '{"files":[]}');
  assertEquals(await cache.readManifest(hash), undefined);
});

test("verify accepts an intact object and rejects a missing one", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  assertEquals(await cache.verify(src.hash, state), true);
  assertEquals(await cache.verify("0123456789abcdef", state), false);
});

test("verify reports a corrupted object, moves it aside and treats it as missing", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  const object = cache.objectPath(src.hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "HELLO");
  const reports: string[] = [];
  assertEquals(await cache.verify(src.hash, state, (m) => reports.push(m)), false);
  assertEquals(reports.length, 1);
  assertMatch(reports[0], new RegExp(`${src.hash}.*corrupt.*${await hashBytes("HELLO")}`));
  assertEquals(await cache.has(src.hash), false);
  assertEquals(await Deno.readTextFile(`${object}.corrupt`), "HELLO");
  assertEquals(await cache.verify(src.hash, state, (m) => reports.push(m)), false);
  assertEquals(reports.length, 1);
});

test("verify trusts an intact object's remembered stamp and does not re-read it", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  assertEquals(await cache.verify(src.hash, state), true);
  // Corrupt the object in place, keeping its mtime, size and inode: verify
  // answers from the stamp (the state store's contract), so it still passes.
  const object = cache.objectPath(src.hash);
  const { mtime, atime } = await Deno.stat(object);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "HELLO");
  await Deno.chmod(object, 0o444);
  await Deno.utime(object, atime!, mtime!);
  assertEquals(await cache.verify(src.hash, state), true);
});

for (const mode of CHECKOUT_MODES) {
  test(`place by ${mode} puts the object's content at the destination`, async () => {
    await using dir = await tempDir();
    const cache = new Cache(dir.path("cache"));
    const src = await sourceFile(dir, "a.txt", "hello");
    await cache.storeFile(src.path, src.hash, false);
    const dest = dir.path("out.txt");
    await cache.place(src.hash, dest, mode);
    assertEquals(await Deno.readTextFile(dest), "hello");
    const link = await Deno.lstat(dest);
    const object = await Deno.stat(cache.objectPath(src.hash));
    if (mode === "symlink") {
      assert(link.isSymlink);
      assertEquals(await Deno.readLink(dest), cache.objectPath(src.hash));
    } else if (mode === "hardlink") {
      assertEquals(link.ino, object.ino);
    } else {
      assertNotEquals(link.ino, object.ino);
      assertEquals(link.mode! & 0o777, 0o644);
    }
    assertEquals(tempFiles(await listTree(dir.root)), []);
  });
}

for (const mode of CHECKOUT_MODES) {
  test(`placeNew by ${mode} puts the object where nothing is, without a temporary file`, async () => {
    await using dir = await tempDir();
    const cache = new Cache(dir.path("cache"));
    const src = await sourceFile(dir, "a.txt", "hello");
    await cache.storeFile(src.path, src.hash, false);
    await Deno.mkdir(dir.path("building"));
    await cache.placeNew(src.hash, dir.path("building/out.txt"), mode);
    assertEquals(await Deno.readTextFile(dir.path("building/out.txt")), "hello");
    assertEquals(await listTree(dir.path("building")), ["out.txt"]);
    if (mode === "copy" || mode === "reflink") {
      const placed = await Deno.lstat(dir.path("building/out.txt"));
      assertNotEquals(placed.ino, (await Deno.stat(cache.objectPath(src.hash))).ino);
      assertEquals(placed.mode! & 0o777, 0o644);
    }
  });
}

test("place of a missing object throws and leaves no temp file", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  for (const mode of ["hardlink", "copy"] as const) {
    await assertRejects(() => cache.place("0123456789abcdef", dir.path("out.txt"), mode));
  }
  assertEquals(await listTree(dir.root), []);
});

test("a copy placed from the cache is writable without touching the object", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  await cache.place(src.hash, dir.path("out.txt"), "copy");
  await Deno.writeTextFile(dir.path("out.txt"), "changed");
  assertEquals(await Deno.readTextFile(cache.objectPath(src.hash)), "hello");
});

test("storeBytes writes a read-only object from memory, remembered as intact", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"), { state });
  const bytes = new TextEncoder().encode("from memory");
  const hash = await hashBytes(bytes);
  const stamp = await cache.storeBytes(bytes, hash);
  const object = cache.objectPath(hash);
  assertEquals(await Deno.readTextFile(object), "from memory");
  assertEquals((await Deno.stat(object)).mode! & 0o777, 0o444);
  // The stamp taken from the open file before the rename is the object's.
  assertEquals(stamp, stampOf(await Deno.stat(object)));
  assertEquals(await state.objectStamp(hash), stamp);
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
  // Stored again: the intact object is left alone.
  assertEquals(await cache.storeBytes(bytes, hash), stamp);
});

test("CreatePace: a slow synchronous create makes the next objects asynchronous, then sync again", () => {
  const pace = new CreatePace(2, 3);
  assert(pace.sync);
  pace.tookSync(1.9);
  assert(pace.sync);
  pace.tookSync(2);
  for (let i = 0; i < 3; i++) {
    assert(!pace.sync);
    pace.wroteAsync();
  }
  assert(pace.sync);
});

test("storeBytes writes the same objects created synchronously and asynchronously", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  // Every synchronous create counts as slow: objects alternate one
  // synchronous, two asynchronous.
  const pace = new CreatePace(0, 2);
  const cache = new Cache(dir.path("cache"), { state, pace });
  const modes: boolean[] = [];
  for (let i = 0; i < 6; i++) {
    modes.push(pace.sync);
    const bytes = new TextEncoder().encode(`object ${i}`);
    const hash = await hashBytes(bytes);
    const stamp = await cache.storeBytes(bytes, hash);
    const object = cache.objectPath(hash);
    assertEquals(await Deno.readTextFile(object), `object ${i}`);
    assertEquals((await Deno.stat(object)).mode! & 0o777, 0o444);
    assertEquals(stamp, stampOf(await Deno.stat(object)));
    assertEquals(await state.objectStamp(hash), stamp);
  }
  assertEquals(modes, [true, false, false, true, false, false]);
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
});

test("storeBytes in the background writes the same object, leaving the pace alone", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const pace = new CreatePace(0, 2);
  const cache = new Cache(dir.path("cache"), { state, pace });
  for (let i = 0; i < 3; i++) {
    const bytes = new TextEncoder().encode(`object ${i}`);
    const hash = await hashBytes(bytes);
    const stamp = await cache.storeBytes(bytes, hash, undefined, { background: true });
    const object = cache.objectPath(hash);
    assertEquals(await Deno.readTextFile(object), `object ${i}`);
    assertEquals((await Deno.stat(object)).mode! & 0o777, 0o444);
    assertEquals(stamp, stampOf(await Deno.stat(object)));
    assertEquals(await state.objectStamp(hash), stamp);
    assert(pace.sync, "a background store is not a synchronous create");
  }
  // The same object twice at once (two outs with one content): one intact object.
  const bytes = new TextEncoder().encode("twice");
  const hash = await hashBytes(bytes);
  const [a, b] = await Promise.all([
    cache.storeBytes(bytes, hash, undefined, { background: true }),
    cache.storeBytes(bytes, hash, undefined, { background: true }),
  ]);
  assertEquals(await Deno.readTextFile(cache.objectPath(hash)), "twice");
  const now = stampOf(await Deno.stat(cache.objectPath(hash)));
  assert(a.ino === now.ino || b.ino === now.ino, "one of them is the object");
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
});

test("storeBytes over a corrupt object moves it aside and writes it afresh", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const warnings: string[] = [];
  const cache = new Cache(dir.path("cache"), { state, warn: (m) => warnings.push(m) });
  const bytes = new TextEncoder().encode("good");
  const hash = await hashBytes(bytes);
  await cache.storeBytes(bytes, hash);
  const object = cache.objectPath(hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil!");
  await cache.storeBytes(bytes, hash);
  assertEquals(await Deno.readTextFile(object), "good");
  assertEquals(await Deno.readTextFile(`${object}.corrupt`), "evil!");
  assertEquals(warnings.length, 1);
});

test("placeNew puts an object where nothing is: a link (the object's inode) or a writable copy", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "hello");
  await cache.storeFile(src.path, src.hash, false);
  const object = (await Deno.stat(cache.objectPath(src.hash))).ino;
  assertEquals(await cache.placeNew(src.hash, dir.path("linked"), "hardlink"), true);
  assertEquals((await Deno.stat(dir.path("linked"))).ino, object);
  assertEquals(await cache.placeNew(src.hash, dir.path("copied"), "copy"), false);
  assertNotEquals((await Deno.stat(dir.path("copied"))).ino, object);
  assertEquals((await Deno.stat(dir.path("copied"))).mode! & 0o777, 0o644);
  assertEquals(await cache.placeNew(src.hash, dir.path("sym"), "symlink"), true);
  assertEquals(await Deno.readLink(dir.path("sym")), cache.objectPath(src.hash));
});

test("a manifest's hash is that of its canonical JSON, whatever the paths hold", async () => {
  const files = [
    { path: 'a "quoted"\\path.txt', hash: "0123456789abcdef" },
    { path: "ünïcode/日本.txt", hash: "fedcba9876543210" },
    { path: "z\n", hash: "00000000000000ff" },
  ];
  assertEquals(await hashManifest({ files }), await hashBytes(canonicalJson({ files })));
});

test("placeCopy copies a small object from memory: a writable new file with its own stamp", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"), { state });
  const src = await sourceFile(dir, "a.txt", "small content");
  const { stamp: object } = await cache.storeFile(src.path, src.hash, false);
  const dest = dir.path("copied");
  const stamp = await cache.placeCopy(src.hash, dest, object);
  const info = await Deno.stat(dest);
  assertEquals(await Deno.readTextFile(dest), "small content");
  assertEquals(info.mode! & 0o777, 0o644);
  assertEquals(stamp, { mtime: info.mtime!.getTime(), size: info.size, ino: info.ino! });
  assertNotEquals(stamp.ino, object.ino);
  await Deno.writeTextFile(dest, "changed");
  assertEquals(await Deno.readTextFile(cache.objectPath(src.hash)), "small content");
  // Something already there is not overwritten.
  await assertRejects(() => cache.placeCopy(src.hash, dest, object), Deno.errors.AlreadyExists);
});

test("placeCopy copies an object larger than one read, and one whose size changed, whole", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const large = "x".repeat(SMALL_COPY + 5);
  const src = await sourceFile(dir, "large.txt", large);
  const { stamp } = await cache.storeFile(src.path, src.hash, false);
  await cache.placeCopy(src.hash, dir.path("large"), stamp);
  assertEquals(await Deno.readTextFile(dir.path("large")), large);
  assertEquals((await Deno.stat(dir.path("large"))).mode! & 0o777, 0o644);
  // A stale size (the object is not what the caller saw): copied as it is, not cut.
  const small = await sourceFile(dir, "small.txt", "twelve bytes");
  const { stamp: smallStamp } = await cache.storeFile(small.path, small.hash, false);
  await cache.placeCopy(small.hash, dir.path("stale"), { ...smallStamp, size: 3 });
  assertEquals(await Deno.readTextFile(dir.path("stale")), "twelve bytes");
  assertEquals(tempFiles(await listTree(dir.root)), []);
});

test("copySmallNew gives 0644 whatever the umask", async () => {
  await using dir = await tempDir();
  await Deno.writeTextFile(dir.path("src"), "abc");
  // In a process of its own: the umask is the whole process's.
  const copy = new URL("../../lib/storage/copy.ts", import.meta.url).href;
  const code = `import { copySmallNew } from "${copy}";
Deno.umask(0o077);
const a = copySmallNew(Deno.args[0] + "/src", Deno.args[0] + "/dest", 3);
const b = copySmallNew(Deno.args[0] + "/src", Deno.args[0] + "/other", 2);
console.log(JSON.stringify([a !== undefined, b === undefined]));`;
  const run = await output(Deno.execPath(), { args: ["eval", code, dir.root] });
  assert(run.success, new TextDecoder().decode(run.stderr));
  assertEquals(JSON.parse(new TextDecoder().decode(run.stdout)), [true, true]);
  assertEquals((await Deno.stat(dir.path("dest"))).mode! & 0o777, 0o644);
  assertEquals(await Deno.readTextFile(dir.path("dest")), "abc");
  // A source that is not of the size given: nothing made.
  assertEquals(await listTree(dir.root), ["dest", "src"]);
});

test("storeBytes in a batch: absent objects written once, present ones still verified", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const warnings: string[] = [];
  const cache = new Cache(dir.path("cache"), { state, warn: (m) => warnings.push(m) });
  const encode = (text: string) => new TextEncoder().encode(text);
  // One object there before the batch, then written in place (corrupt).
  const old = encode("old");
  const oldHash = await hashBytes(old);
  await cache.storeBytes(old, oldHash);
  const oldObject = cache.objectPath(oldHash);
  await writeInPlaceLater(oldObject, "OLD");

  const batch = cache.batch(4);
  const fresh = encode("fresh");
  const freshHash = await hashBytes(fresh);
  assertEquals(batch.absent(freshHash), true);
  assertEquals(batch.absent(oldHash), false, "listed: the old object is there");
  const stamp = await cache.storeBytes(fresh, freshHash, batch);
  // The same content again in the batch: the object it just stored.
  assertEquals(await cache.storeBytes(fresh, freshHash, batch), stamp);
  assertEquals((await Deno.stat(cache.objectPath(freshHash))).ino, stamp.ino);
  assertEquals(await state.objectStamp(freshHash), stamp);
  // The corrupt object is noticed and replaced, batch or not.
  await cache.storeBytes(old, oldHash, batch);
  assertEquals(await Deno.readTextFile(oldObject), "old");
  assertEquals(await Deno.readTextFile(`${oldObject}.corrupt`), "OLD");
  assertEquals(warnings.length, 1);
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
});

test("storeBytes in a batch: the same content stored at once on both lanes makes one object, one stamp", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const cache = new Cache(dir.path("cache"), { state });
  const encode = (text: string) => new TextEncoder().encode(text);
  const batch = cache.batch(6);
  const same = encode("same");
  const sameHash = await hashBytes(same);
  const other = encode("other");
  const otherHash = await hashBytes(other);
  // Started together, as a directory's files are (8 in flight): the first
  // on Deno's blocking pool, the copies of its content on this thread and on
  // the pool while it is in flight.
  const stamps = await Promise.all([
    cache.storeBytes(same, sameHash, batch, { background: true }),
    cache.storeBytes(same, sameHash, batch),
    cache.storeBytes(other, otherHash, batch),
    cache.storeBytes(same, sameHash, batch, { background: true }),
    cache.storeBytes(other, otherHash, batch, { background: true }),
  ]);
  const object = cache.objectPath(sameHash);
  const info = await Deno.stat(object);
  // Every file with that content has the stamp of the object that is there
  // (no second temporary file renamed over the first object).
  for (const stamp of [stamps[0], stamps[1], stamps[3]]) assertEquals(stamp, stampOf(info));
  assertEquals(stamps[2], stamps[4]);
  assertEquals(stamps[2], stampOf(await Deno.stat(cache.objectPath(otherHash))));
  assertEquals(await state.objectStamp(sameHash), stampOf(info));
  assertEquals(info.mode! & 0o777, 0o444);
  assertEquals(await Deno.readTextFile(object), "same");
  const names = await listTree(dir.path("cache"));
  assertEquals(tempFiles(names), []);
  const objects = names.filter((name) => /^files\/[0-9a-f]{2}\/./.test(name));
  assertEquals(objects.length, 2, names.join(", "));
});

test("storeFile in a batch: a copy in flight is awaited by the same content, and a failed store is retried", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const src = await sourceFile(dir, "a.txt", "x".repeat(SMALL_COPY + 10));
  const batch = cache.batch(3);
  const [first, second] = await Promise.all([
    cache.storeFile(src.path, src.hash, false, batch),
    cache.storeFile(src.path, src.hash, false, batch),
  ]);
  assertEquals(first.made, true);
  assertEquals(second, { stamp: first.stamp, made: false });
  assertEquals(first.stamp, stampOf(await Deno.stat(cache.objectPath(src.hash))));
  // A store that fails (its source gone) is not remembered for its content.
  const gone = await sourceFile(dir, "b.txt", "gone");
  await Deno.remove(gone.path);
  await assertRejects(() => cache.storeFile(gone.path, gone.hash, false, batch));
  await Deno.writeTextFile(gone.path, "gone");
  assertEquals((await cache.storeFile(gone.path, gone.hash, false, batch)).made, true);
  assertEquals(await Deno.readTextFile(cache.objectPath(gone.hash)), "gone");
});

test("storeBytes in a batch: an object stored by another process after the listing is stored over, intact", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const other = new Cache(dir.path("cache"));
  const bytes = new TextEncoder().encode("shared");
  const hash = await hashBytes(bytes);
  const batch = cache.batch(1);
  assertEquals(batch.absent(hash), true);
  await other.storeBytes(bytes, hash);
  await cache.storeBytes(bytes, hash, batch);
  const object = cache.objectPath(hash);
  assertEquals(await Deno.readTextFile(object), "shared");
  assertEquals((await Deno.stat(object)).mode! & 0o777, 0o444);
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
});

test("a batch lists a fan-out directory only when it is small beside the batch; else it stats", async () => {
  await using dir = await tempDir();
  const cache = new Cache(dir.path("cache"));
  const bytes = new TextEncoder().encode("x");
  const hash = await hashBytes(bytes);
  await cache.storeBytes(bytes, hash);
  const fan = dir.path(`cache/files/${hash.slice(0, 2)}`);
  // Enough names that a 1-file batch should not list them.
  for (let i = 0; i < 200; i++) {
    Deno.writeTextFileSync(`${fan}/filler${String(i).padStart(10, "0")}`, "");
  }
  const missing = `${hash.slice(0, 2)}${"0".repeat(14)}`;
  const small = cache.batch(1);
  assertEquals(small.absent(hash), false);
  assertEquals(small.absent(missing), false, "not listed: unknown, stat it");
  const large = cache.batch(1_000_000);
  assertEquals(large.absent(hash), false);
  assertEquals(large.absent(missing), true, "listed");
  // No fan-out directory: nothing is there.
  const none = hash.startsWith("00") ? "11".padEnd(16, "1") : "00".padEnd(16, "0");
  assertEquals(cache.batch(1).absent(none), true);
});

test("storeBytes with a writer thread: read-only objects, true stamps, one object per content, corrupt ones replaced", async () => {
  await using dir = await tempDir();
  await using state = await openState(dir.root);
  const warnings: string[] = [];
  const cache = new Cache(dir.path("cache"), { state, warn: (m) => warnings.push(m) });
  const encode = (text: string) => new TextEncoder().encode(text);
  // An object already there, then written in place (through a hard link, say).
  const old = encode("file 0");
  const oldHash = await hashBytes(old);
  await cache.storeBytes(old, oldHash);
  await writeInPlaceLater(cache.objectPath(oldHash), "evil!!");
  using writer = ObjectWriter.start();
  assert(writer !== undefined);
  // Started together, more than the thread may fall behind by: some made
  // there, the rest here; every tenth content twice.
  const batch = cache.batch(600);
  const contents = Array.from(
    { length: 600 },
    (_, i) => encode(`file ${i % 10 === 9 ? i - 1 : i}`),
  );
  const hashes = await Promise.all(contents.map((bytes) => hashBytes(bytes)));
  const stamps = await Promise.all(
    contents.map((bytes, i) => cache.storeBytes(bytes, hashes[i], batch, { writer })),
  );
  for (let i = 0; i < contents.length; i++) {
    const object = cache.objectPath(hashes[i]);
    const info = await Deno.stat(object);
    assertEquals(stamps[i], stampOf(info), `file ${i}`);
    assertEquals(await state.objectStamp(hashes[i]), stamps[i]);
    assertEquals(info.mode! & 0o777, 0o444);
    assertEquals(await Deno.readFile(object), contents[i]);
  }
  assertEquals(await Deno.readTextFile(`${cache.objectPath(oldHash)}.corrupt`), "evil!!");
  assertEquals(warnings.length, 1);
  assertEquals(tempFiles(await listTree(dir.path("cache"))), []);
});
