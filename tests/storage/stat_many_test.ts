import {
  BLOCK,
  coreFree,
  coreFreeGiven,
  EXISTED,
  HelperThread,
  LIBC_STAT_FROM,
  LINKED,
  linkMany,
  linkReadOnlyMany,
  type ObjectTree,
  readAndHashMany,
  type ReadOne,
  statAndCopyTree,
  statAndLinkTree,
  statMany,
  writeReturnedMany,
} from "../../lib/storage/stat_many.ts";
import { contentOf, returnedFiles } from "../../lib/model/returned_files.ts";
import { type FileStamp, stampOf, stampOfLibc } from "../../lib/storage/state.ts";
import { readSmallFile, SMALL_FILE } from "../../lib/storage/artifact_hash.ts";
import { hashBytesSync } from "../../lib/storage/hash.ts";
import { readSmall } from "../../lib/libc_fs.ts";
import { SMALL_COPY } from "../../lib/storage/copy.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { output, test } from "../_harness.ts";

/** Several blocks of items (23 and a part), fewer than LIBC_STAT_FROM; the helper is used, and takes the last block before the caller takes any. */
const FILES = Math.floor(BLOCK * 23.44);
/** Index `i` of a list of 3,000 files, scaled to {@link FILES} (3,000; 93 under PIVOT_TEST_THRESHOLDS=small). */
const at = (i: number) => Math.floor(i * FILES / 3000);
/** A step through the files that samples a few dozen of them. */
const step = (i: number) => Math.max(1, at(i));
const BOTH = { parallelFrom: 1, helperFirst: true };

async function writeFiles(root: string, n: number): Promise<string[]> {
  const paths: string[] = [];
  for (let i = 0; i < n; i++) {
    const dir = `${root}/d${i % 7}`;
    if (i < 7) await Deno.mkdir(dir, { recursive: true });
    paths.push(`${dir}/f${i}.txt`);
    Deno.writeTextFileSync(paths[i], `file ${i}\n`.repeat(i % 5));
  }
  return paths;
}

test("statMany on two threads gives each file's own stamp, in order", async () => {
  await using dir = await tempDir();
  const paths = await writeFiles(dir.path("t"), FILES);
  const stamps = await statMany(paths, BOTH);
  assertEquals(stamps.length, FILES);
  for (let i = 0; i < FILES; i++) assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])));
  assertEquals(await statMany(paths), stamps, "one thread gives the same");
});

test("statMany gives undefined for missing files, wherever they fall", async () => {
  await using dir = await tempDir();
  const paths = await writeFiles(dir.path("t"), FILES);
  const missing = new Set([5, 4 * BLOCK - 1, 4 * BLOCK, at(1700), at(2600), FILES - 1]);
  for (const i of missing) await Deno.remove(paths[i]);
  const stamps = await statMany(paths, BOTH);
  for (let i = 0; i < FILES; i++) {
    if (missing.has(i)) assertEquals(stamps[i], undefined, `file ${i}`);
    else assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])), `file ${i}`);
  }
});

test("a list long enough for libc's statx gives Deno.statSync's stamps, on both threads and on one", async () => {
  await using dir = await tempDir();
  const root = dir.path("t");
  const files = await writeFiles(root, FILES);
  Deno.symlinkSync(files[3], `${root}/link`);
  Deno.symlinkSync(`${root}/gone`, `${root}/dangling`);
  Deno.mkdirSync(`${root}/sub`);
  // Repeats make it long enough; a symlink, a dangling one, a missing path, a directory.
  const paths = [...files, `${root}/link`, `${root}/dangling`, `${root}/missing`, `${root}/sub`];
  while (paths.length < LIBC_STAT_FROM) paths.push(files[paths.length % FILES]);
  for (const options of [BOTH, {}]) {
    const stamps = await statMany(paths, options);
    for (let i = 0; i < paths.length; i++) {
      let want;
      try {
        want = stampOf(Deno.statSync(paths[i]));
      } catch {
        want = undefined;
      }
      assertEquals([paths[i], stamps[i]], [paths[i], want]);
    }
    assertEquals(stamps.filter((stamp) => stamp === undefined).length, 2);
  }
  // Another error than a missing path is thrown, as Deno.statSync throws it.
  await assertRejects(
    () => statMany([...paths, `${files[0]}/below`], BOTH),
    Deno.errors.NotADirectory,
  );
});

test("linkMany on two threads links every file to its source", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  const linked = await linkMany(sources, dests, BOTH);
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
  for (let i = 0; i < FILES; i += step(97)) {
    assertEquals(Deno.statSync(dests[i]).ino, Deno.statSync(sources[i]).ino, `file ${i}`);
  }
});

test("linkMany leaves a file it cannot link to the caller, and links the rest", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  const gone = [3, at(600), at(2600), FILES - 1];
  for (const i of gone) await Deno.remove(sources[i]);
  const linked = await linkMany(sources, dests, BOTH);
  for (let i = 0; i < FILES; i++) {
    const expected = gone.includes(i) ? 0 : 1;
    assertEquals(linked[i], expected, `file ${i}`);
    assertEquals((await Deno.lstat(dests[i]).catch(() => undefined)) !== undefined, expected === 1);
  }
});

test("linkReadOnlyMany on two threads: each object its file's inode, read-only; one there already or refused left alone", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  const hashes = sources.map((_, i) => (0x1000000 + i * 7919).toString(16).padStart(16, "0"));
  const objects = dir.path("objects/");
  const objectPath = (hash: string) => `${objects}${hash.slice(0, 2)}/${hash.slice(2)}`;
  for (const hash of hashes) await Deno.mkdir(`${objects}${hash.slice(0, 2)}`, { recursive: true });
  // Wherever they fall: the caller's first block, the helper's last, between.
  const there = [1, at(1500), FILES - 2];
  const gone = [3, at(600), FILES - 1];
  for (const i of there) await Deno.writeTextFile(objectPath(hashes[i]), "in the way\n");
  for (const i of gone) await Deno.remove(sources[i]);
  const made = await linkReadOnlyMany({ from, paths, hashes, objectPath, objects }, BOTH);
  for (let i = 0; i < FILES; i++) {
    const expected = there.includes(i) ? EXISTED : gone.includes(i) ? 0 : LINKED;
    assertEquals(made[i], expected, `file ${i}`);
    if (expected !== LINKED) continue;
    const [object, source] = [Deno.statSync(objectPath(hashes[i])), Deno.statSync(sources[i])];
    assertEquals([object.ino, object.mode! & 0o777], [source.ino, 0o444], `file ${i}`);
  }
  for (const i of there) {
    assertEquals(Deno.readTextFileSync(objectPath(hashes[i])), "in the way\n", "not replaced");
    assert((Deno.statSync(sources[i]).mode! & 0o200) !== 0, "its source left writable");
  }
  for (const i of gone) {
    const object = await Deno.lstat(objectPath(hashes[i])).catch(() => undefined);
    assertEquals(object, undefined, `file ${i}`);
  }
});

/** The large-directory store's own reader: `readSmallFile` through libc, hashed. */
const readOne: ReadOne = (abs) => {
  const { stamp, bytes } = readSmallFile(abs, true);
  return { stamp, hash: bytes === undefined ? undefined : hashBytesSync(bytes) };
};

/** Where a cache would keep objects: all 256 fan-out directories made. */
async function objectsDir(root: string) {
  const objects = `${root}/`;
  for (let fan = 0; fan < 256; fan++) {
    await Deno.mkdir(`${objects}${fan.toString(16).padStart(2, "0")}`, { recursive: true });
  }
  return {
    objects,
    objectPath: (hash: string) => `${objects}${hash.slice(0, 2)}/${hash.slice(2)}`,
  };
}

test("readAndHashMany on two threads gives each file's stamp and hash as one thread reads them", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  const one = await readAndHashMany(from, paths, readOne, SMALL_FILE);
  const two = await readAndHashMany(from, paths, readOne, SMALL_FILE, BOTH);
  assertEquals(two.stamps, one.stamps);
  assertEquals(two.hashes, one.hashes);
  for (let i = 0; i < FILES; i++) {
    assertEquals(two.stamps[i], stampOf(Deno.statSync(sources[i])), `file ${i}`);
    assertEquals(two.hashes[i], hashBytesSync(Deno.readFileSync(sources[i])), `file ${i}`);
  }
  assertEquals([...two.linked].filter((made) => made !== 0), [], "nothing linked without `link`");
});

test("readAndHashMany with link: each content's object is one of its files, read-only, with the stamp read; the others found it there", async () => {
  await using dir = await tempDir();
  // Every fifth file is empty: one content for a fifth of the files, met by both threads.
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  const link = await objectsDir(dir.path("objects"));
  const { stamps, hashes, linked } = await readAndHashMany(from, paths, readOne, SMALL_FILE, {
    ...BOTH,
    link,
  });
  const linkedBy = new Map<string, number>();
  for (let i = 0; i < FILES; i++) {
    assertEquals(hashes[i], hashBytesSync(Deno.readFileSync(sources[i])), `file ${i}`);
    if (linked[i] === LINKED) {
      assertEquals(linkedBy.get(hashes[i]!), undefined, `file ${i}: one object a content`);
      linkedBy.set(hashes[i]!, i);
    } else assertEquals(linked[i], EXISTED, `file ${i}`);
  }
  assertEquals(linkedBy.size, new Set(hashes).size, "every content has its object");
  for (const [hash, i] of linkedBy) {
    const object = Deno.statSync(link.objectPath(hash));
    assertEquals([object.ino, object.mode! & 0o777], [Deno.statSync(sources[i]).ino, 0o444]);
    assertEquals(stamps[i], stampOf(object), `file ${i}: its stamp is its object's`);
  }
});

test("readAndHashMany: a file gone before it is read throws NotFound, wherever it falls", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  // The caller's first block, the helper's first (the last), between.
  for (const gone of [3, FILES - 1, at(1500)]) {
    const moved = `${sources[gone]}.aside`;
    await Deno.rename(sources[gone], moved);
    await assertRejects(
      () => readAndHashMany(from, paths, readOne, SMALL_FILE, BOTH),
      Deno.errors.NotFound,
    );
    await assertRejects(
      () => readAndHashMany(from, paths, readOne, SMALL_FILE),
      Deno.errors.NotFound,
    );
    await Deno.rename(moved, sources[gone]);
  }
});

test("readAndHashMany: a file larger than the limit gets its stamp, no hash and no link, on either thread", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  const link = await objectsDir(dir.path("objects"));
  // Up to 12 bytes read whole: files of 0 and ~10 bytes; the others (20 to 40) are not.
  const limit = 12;
  const readUpTo: ReadOne = (abs) => {
    const read = readSmall(abs, limit)!;
    return {
      stamp: stampOfLibc(read),
      hash: read.bytes === undefined ? undefined : hashBytesSync(read.bytes),
    };
  };
  const one = await readAndHashMany(from, paths, readUpTo, limit);
  const two = await readAndHashMany(from, paths, readUpTo, limit, { ...BOTH, link });
  assertEquals(two.stamps, one.stamps);
  assertEquals(two.hashes, one.hashes);
  for (let i = 0; i < FILES; i++) {
    const size = Deno.statSync(sources[i]).size;
    if (size <= limit) {
      assertEquals(two.hashes[i], hashBytesSync(Deno.readFileSync(sources[i])), `file ${i}`);
      continue;
    }
    assertEquals([two.hashes[i], two.linked[i]], [undefined, 0], `file ${i}`);
    assertEquals(two.stamps[i], stampOf(Deno.statSync(sources[i])), `file ${i}`);
    assertEquals(Deno.statSync(sources[i]).nlink, 1, `file ${i}: not linked`);
  }
});

test("readAndHashMany: files rewritten while both threads read them get a stamp and hash that belong together", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const from = dir.path("src/");
  const paths = sources.map((p) => p.slice(from.length));
  // Two contents of different sizes, and the empty file a rewrite passes through.
  const contents = ["", "a\n", "bbbbbbbbbbbb\n"];
  const bySize = new Map(contents.map((c) => [c.length, hashBytesSync(c)]));
  // Rewritten by another thread all along: files in the caller's blocks and the helper's.
  const busy = [0, 1, 2, at(700), at(1500), FILES - 10, FILES - 2, FILES - 1].map((i) =>
    sources[i]
  );
  const code = `const paths = ${JSON.stringify(busy)};
for (let k = 0; ; k++) for (const p of paths) Deno.writeTextFileSync(p, k % 2 ? "a\\n" : "bbbbbbbbbbbb\\n");`;
  const writer = new Worker(`data:application/javascript,${encodeURIComponent(code)}`, {
    type: "module",
  });
  try {
    // Each rewritten once at least (their first contents are of other sizes).
    const rewritten = () => busy.every((p) => bySize.has(Deno.statSync(p).size));
    while (!rewritten()) await new Promise((resolve) => setTimeout(resolve, 5));
    for (let round = 0; round < 5; round++) {
      const { stamps, hashes } = await readAndHashMany(from, paths, readOne, SMALL_FILE, BOTH);
      for (const p of busy) {
        const i = sources.indexOf(p);
        const stamp: FileStamp = stamps[i];
        // No hash: it changed size while read (the caller streams it).
        if (hashes[i] !== undefined) assertEquals(hashes[i], bySize.get(stamp.size), `file ${i}`);
      }
    }
  } finally {
    writer.terminate();
  }
});

test("linkMany throws when something is at a new name already", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  await Deno.writeTextFile(dests[at(1500)], "in the way\n");
  await assertRejects(() => linkMany(sources, dests, BOTH), Deno.errors.AlreadyExists);
  assert(Deno.readTextFileSync(dests[at(1500)]) === "in the way\n", "not replaced");
});

/**
 * A tree to link as a hardlink checkout links one: `files` objects of
 * distinct content under `objects/` (named by a hex "hash", two characters
 * then the rest, as a cache names them), a manifest listing them at paths
 * in seven directories (made under `into/`), and its text.
 */
async function treeOf(dir: { path(rel: string): string }, files: number): Promise<ObjectTree> {
  const objects = `${dir.path("objects")}/`;
  const entries: { hash: string; path: string }[] = [];
  for (let i = 0; i < files; i++) {
    const hash = (0x100000 + i * 7919).toString(16);
    entries.push({ hash, path: `d${i % 7}/f${i}.txt` });
  }
  const fans = new Set<string>();
  for (const [i, { hash }] of entries.entries()) {
    if (!fans.has(hash.slice(0, 2))) {
      await Deno.mkdir(`${objects}${hash.slice(0, 2)}`, { recursive: true });
    }
    fans.add(hash.slice(0, 2));
    Deno.writeTextFileSync(`${objects}${hash.slice(0, 2)}/${hash.slice(2)}`, `file ${i}\n`);
  }
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`into/d${d}`), { recursive: true });
  return {
    files: entries,
    manifest: JSON.stringify({ files: entries }),
    objectPath: (hash) => `${objects}${hash.slice(0, 2)}/${hash.slice(2)}`,
    objects,
    into: `${dir.path("into")}/`,
  };
}

test("statAndLinkTree on two threads gives each object's stamp and links it at its path", async () => {
  await using dir = await tempDir();
  const tree = await treeOf(dir, FILES);
  const { stamps, linked } = await statAndLinkTree(tree, BOTH);
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
  for (const [i, { hash, path }] of tree.files.entries()) {
    assertEquals(stamps[i], stampOf(Deno.statSync(tree.objectPath(hash))), `file ${i}`);
    assertEquals(Deno.statSync(tree.into + path).ino, stamps[i]!.ino, `file ${i}`);
  }
});

test("statAndLinkTree: a missing object has no stamp and no link, wherever it falls", async () => {
  await using dir = await tempDir();
  const tree = await treeOf(dir, FILES);
  // In the calling thread's blocks, at block edges, and in the helper's (the last).
  const gone = new Set([0, BLOCK - 1, BLOCK, at(1500), at(2800), FILES - 1]);
  for (const i of gone) await Deno.remove(tree.objectPath(tree.files[i].hash));
  const { stamps, linked } = await statAndLinkTree(tree, BOTH);
  for (const [i, { hash, path }] of tree.files.entries()) {
    if (gone.has(i)) {
      assert(i in stamps && stamps[i] === undefined, `file ${i}: undefined, not a hole`);
      assertEquals(linked[i], 0, `file ${i}`);
      assertEquals(await Deno.lstat(tree.into + path).catch(() => undefined), undefined);
    } else {
      assertEquals(stamps[i], stampOf(Deno.statSync(tree.objectPath(hash))), `file ${i}`);
      assertEquals(linked[i], 1, `file ${i}`);
    }
  }
  await Deno.remove(dir.path("into"), { recursive: true });
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`into/d${d}`), { recursive: true });
  const alone = await statAndLinkTree(tree);
  assertEquals(alone.stamps, stamps, "one thread gives the same");
});

test("a tree long enough for libc's statx: Deno.statSync's stamps, links and copies, on both threads and on one", async () => {
  await using dir = await tempDir();
  const tree = await treeOf(dir, LIBC_STAT_FROM);
  // In the calling thread's first block, at a block edge, and in the helper's (the last).
  const gone = new Set([0, BLOCK, LIBC_STAT_FROM - 1]);
  for (const i of gone) await Deno.remove(tree.objectPath(tree.files[i].hash));
  const expected = (i: number) =>
    gone.has(i) ? undefined : stampOf(Deno.statSync(tree.objectPath(tree.files[i].hash)));
  const fresh = async () => {
    await Deno.remove(dir.path("into"), { recursive: true });
    for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`into/d${d}`), { recursive: true });
  };
  for (const options of [BOTH, {}]) {
    await fresh();
    const { stamps, linked } = await statAndLinkTree(tree, options);
    for (const [i, { path }] of tree.files.entries()) {
      assertEquals(stamps[i], expected(i), `link ${i}`);
      assertEquals(linked[i], gone.has(i) ? 0 : 1, `link ${i}`);
      if (!gone.has(i)) assertEquals(Deno.statSync(tree.into + path).ino, stamps[i]!.ino);
    }
    await fresh();
    const copied = await statAndCopyTree(tree, options);
    for (const [i, { path }] of tree.files.entries()) {
      assertEquals(copied.stamps[i], expected(i), `copy ${i}`);
      const placed = await Deno.lstat(tree.into + path).catch(() => undefined);
      assertEquals(copied.copies[i], placed && stampOf(placed), `copy ${i}`);
    }
  }
});

test("statAndLinkTree throws when something is at a new name already", async () => {
  await using dir = await tempDir();
  const tree = await treeOf(dir, FILES);
  const inTheWay = tree.into + tree.files[FILES - 3].path;
  await Deno.writeTextFile(inTheWay, "in the way\n");
  await assertRejects(() => statAndLinkTree(tree, BOTH), Deno.errors.AlreadyExists);
  assert(Deno.readTextFileSync(inTheWay) === "in the way\n", "not replaced");
});

test("statAndLinkTree: an object the helper cannot name (not a hex hash) is left to the cache's own path", async () => {
  await using dir = await tempDir();
  const tree = await treeOf(dir, FILES);
  // In the helper's share (it takes the last block first): a name it would
  // make wrong, which only the caller's objectPath knows.
  const odd = FILES - 5;
  const files = tree.files.map((f, i) => i === odd ? { ...f, hash: "Not/Hex" } : f);
  const oddObject = dir.path("elsewhere.txt");
  await Deno.writeTextFile(oddObject, "odd\n");
  // Where the objects' prefix would put it: not its object.
  await Deno.mkdir(`${tree.objects}No/t`, { recursive: true });
  await Deno.writeTextFile(`${tree.objects}No/t/Hex`, "wrong\n");
  const objectPath = (hash: string) => hash === "Not/Hex" ? oddObject : tree.objectPath(hash);
  const { stamps, linked } = await statAndLinkTree(
    { ...tree, files, manifest: JSON.stringify({ files }), objectPath },
    BOTH,
  );
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
  assertEquals(stamps[odd], stampOf(Deno.statSync(oddObject)));
  assertEquals(Deno.readTextFileSync(tree.into + files[odd].path), "odd\n");
  for (let i = 0; i < FILES; i += step(97)) {
    assertEquals(Deno.statSync(tree.into + files[i].path).ino, stamps[i]!.ino, `file ${i}`);
  }
});

/** A tree as {@link treeOf} makes it, its objects read-only (0444) as a cache's are. */
async function readOnlyTreeOf(
  dir: { path(rel: string): string },
  files: number,
): Promise<ObjectTree> {
  const tree = await treeOf(dir, files);
  for (const { hash } of tree.files) Deno.chmodSync(tree.objectPath(hash), 0o444);
  return tree;
}

test("statAndCopyTree on two threads gives each object's stamp and a writable copy of it with its own", async () => {
  await using dir = await tempDir();
  const tree = await readOnlyTreeOf(dir, FILES);
  const { stamps, copies } = await statAndCopyTree(tree, BOTH);
  for (const [i, { hash, path }] of tree.files.entries()) {
    const object = Deno.statSync(tree.objectPath(hash));
    const copy = Deno.statSync(tree.into + path);
    assertEquals(stamps[i], stampOf(object), `file ${i}`);
    assertEquals(copies[i], stampOf(copy), `file ${i}`);
    assert(copy.ino !== object.ino, `file ${i}: a copy, not a link`);
    assertEquals(copy.mode! & 0o777, 0o644, `file ${i}`);
    assertEquals(Deno.readTextFileSync(tree.into + path), `file ${i}\n`);
  }
});

test("statAndCopyTree: a missing object has no stamp and no copy; a large one a stamp and no copy", async () => {
  await using dir = await tempDir();
  const tree = await readOnlyTreeOf(dir, FILES);
  // In the calling thread's blocks, at block edges, and in the helper's (the last).
  const gone = new Set([0, BLOCK - 1, at(1500), FILES - 1]);
  const large = new Set([BLOCK, at(1500) + 1, at(2800), FILES - 2]);
  for (const i of gone) await Deno.remove(tree.objectPath(tree.files[i].hash));
  for (const i of large) {
    const object = tree.objectPath(tree.files[i].hash);
    await Deno.chmod(object, 0o644);
    await Deno.writeFile(object, new Uint8Array(SMALL_COPY + 1));
  }
  const { stamps, copies } = await statAndCopyTree(tree, BOTH);
  for (const [i, { hash, path }] of tree.files.entries()) {
    const placed = await Deno.lstat(tree.into + path).catch(() => undefined);
    if (gone.has(i)) {
      assert(i in stamps && stamps[i] === undefined, `file ${i}: undefined, not a hole`);
      assertEquals([copies[i], placed], [undefined, undefined], `file ${i}`);
    } else if (large.has(i)) {
      // Left to the caller, which copies it by the kernel.
      assertEquals(stamps[i], stampOf(Deno.statSync(tree.objectPath(hash))), `file ${i}`);
      assertEquals([copies[i], placed], [undefined, undefined], `file ${i}`);
    } else {
      assertEquals(copies[i], stampOf(placed!), `file ${i}`);
    }
  }
  await Deno.remove(dir.path("into"), { recursive: true });
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`into/d${d}`), { recursive: true });
  const alone = await statAndCopyTree(tree);
  assertEquals(alone.stamps, stamps, "one thread gives the same stamps");
  assertEquals(alone.copies.map((c) => c === undefined), copies.map((c) => c === undefined));
});

test("statAndCopyTree throws when something is at a new name already, and leaves it", async () => {
  await using dir = await tempDir();
  const tree = await readOnlyTreeOf(dir, FILES);
  const inTheWay = tree.into + tree.files[FILES - 3].path;
  await Deno.writeTextFile(inTheWay, "in the way\n");
  await assertRejects(() => statAndCopyTree(tree, BOTH), Deno.errors.AlreadyExists);
  assert(Deno.readTextFileSync(inTheWay) === "in the way\n", "not replaced");
});

test("statAndCopyTree's copies are 0644 under a umask of 077, on both threads", async () => {
  await using dir = await tempDir();
  const tree = await readOnlyTreeOf(dir, FILES);
  // In a process of its own: the umask is the whole process's (the helper thread's too).
  const module = new URL("../../lib/storage/stat_many.ts", import.meta.url).href;
  const code = `import { statAndCopyTree } from "${module}";
Deno.umask(0o077);
const [objects, into, manifest] = Deno.args;
const files = JSON.parse(manifest).files;
const objectPath = (h) => objects + h.slice(0, 2) + "/" + h.slice(2);
const { copies } = await statAndCopyTree(
  { files, manifest, objectPath, objects, into },
  { parallelFrom: 1, helperFirst: true },
);
console.log(copies.filter((c) => c !== undefined).length);`;
  const run = await output(Deno.execPath(), {
    args: ["eval", code, tree.objects, tree.into, tree.manifest],
  });
  assert(run.success, new TextDecoder().decode(run.stderr));
  assertEquals(new TextDecoder().decode(run.stdout).trim(), String(FILES));
  for (const [i, { path }] of tree.files.entries()) {
    assertEquals(Deno.statSync(tree.into + path).mode! & 0o777, 0o644, `file ${i}`);
  }
});

test("one helper thread started ahead does a stat list, then a link list, then another", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  using helper = HelperThread.start();
  assert(helper !== undefined && helper.usable, "a worker starts here");
  const options = { helper, parallelFrom: 1, helperFirst: true };
  const stamps = await statMany(sources, options);
  for (let i = 0; i < FILES; i++) assertEquals(stamps[i], stampOf(Deno.statSync(sources[i])));
  for (const round of ["a", "b"]) {
    const dests = sources.map((p) => p.replace("/src/", `/${round}/`));
    for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`${round}/d${d}`), { recursive: true });
    const linked = await linkMany(sources, dests, options);
    assertEquals(linked.reduce((a, b) => a + b, 0), FILES, `round ${round}`);
    for (let i = 0; i < FILES; i += step(97)) {
      assertEquals(Deno.statSync(dests[i]).ino, stamps[i]!.ino, `round ${round}, file ${i}`);
    }
  }
  assert(helper.usable, "still running for the next list");
});

test("lists the caller finishes alone do not mix up a helper thread's replies", async () => {
  await using dir = await tempDir();
  const paths = await writeFiles(dir.path("t"), FILES);
  using helper = HelperThread.start();
  assert(helper !== undefined);
  // Without helperFirst the calling thread may take every block before the
  // helper sees the job; its reply then comes while the next job runs.
  for (let round = 0; round < 5; round++) {
    const stamps = await statMany(paths, { helper, parallelFrom: 1 });
    for (let i = 0; i < FILES; i += step(53)) {
      assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])), `round ${round}, file ${i}`);
    }
  }
  const dests = paths.map((p) => p.replace("/t/", "/l/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`l/d${d}`), { recursive: true });
  const linked = await linkMany(paths, dests, { helper, parallelFrom: 1, helperFirst: true });
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
});

test("a closed helper thread is not used: the calling thread does the list alone", async () => {
  await using dir = await tempDir();
  const paths = await writeFiles(dir.path("t"), FILES);
  const helper = HelperThread.start();
  assert(helper !== undefined);
  helper.close();
  assert(!helper.usable);
  const stamps = await statMany(paths, { helper, parallelFrom: 1 });
  for (let i = 0; i < FILES; i += step(53)) {
    assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])));
  }
});

test("coreFreeGiven counts the other processes' running tasks against the cores", () => {
  // Idle but for this process's own threads: a core is free.
  assertEquals(coreFreeGiven("0.10 0.20 0.30 3/412 9999\n", 3, 2), true);
  assertEquals(coreFreeGiven("0.10 0.20 0.30 1/412 9999\n", 1, 2), true);
  // One other task on two cores: still one free; two others: none.
  assertEquals(coreFreeGiven("1.00 1.00 1.00 2/412 9999\n", 1, 2), true);
  assertEquals(coreFreeGiven("2.00 2.00 2.00 3/412 9999\n", 1, 2), false);
  assertEquals(coreFreeGiven("9.00 9.00 9.00 19/412 9999\n", 2, 4), false);
  // Not Linux, or not the expected format: a second thread, as before.
  assertEquals(coreFreeGiven(undefined, 1, 2), true);
  assertEquals(coreFreeGiven("", 1, 2), true);
  assertEquals(coreFreeGiven("garbage", 1, 2), true);
});

test("PIVOT_HELPER_THREAD chooses instead of the count", () => {
  const before = Deno.env.get("PIVOT_HELPER_THREAD");
  try {
    Deno.env.set("PIVOT_HELPER_THREAD", "on");
    assertEquals(coreFree(), true);
    Deno.env.set("PIVOT_HELPER_THREAD", "off");
    assertEquals(coreFree(), false);
  } finally {
    if (before === undefined) Deno.env.delete("PIVOT_HELPER_THREAD");
    else Deno.env.set("PIVOT_HELPER_THREAD", before);
  }
});

test("writeReturnedMany with link, on two threads: each file written read-only with its content and stamp, linked where asked", async () => {
  await using dir = await tempDir();
  const from = dir.path("gen/");
  const contents = Array.from({ length: FILES }, (_, i) => `file ${i}\n`.repeat(i % 4));
  const returned = returnedFiles(
    Object.fromEntries(contents.map((c, i) => [`d${i % 7}/f${i}`, c])),
  );
  const { paths } = returned;
  for (let d = 0; d < 7; d++) await Deno.mkdir(`${from}d${d}`, { recursive: true });
  const hashes = paths.map((_, i) => (0x2000000 + i * 7919).toString(16).padStart(16, "0"));
  // A hash the helper cannot name an object by (not hex), in its first
  // block: the item is left to this thread, before the helper makes the file.
  hashes[FILES - 5] = "xyz-not-hex";
  const objects = dir.path("objects/");
  const objectPath = (hash: string) => `${objects}${hash.slice(0, 2)}/${hash.slice(2)}`;
  for (const hash of hashes) await Deno.mkdir(`${objects}${hash.slice(0, 2)}`, { recursive: true });
  // Wherever they fall: an object there already, a file not to link.
  const there = [1, at(1500), FILES - 2];
  const unlinked = [0, at(700), FILES - 1];
  for (const i of there) await Deno.writeTextFile(objectPath(hashes[i]), "in the way\n");
  const objectHashes = hashes.map((hash, i) => unlinked.includes(i) ? undefined : hash);
  const { data, ends } = returned;
  const { stamps, linked } = await writeReturnedMany(
    { from, paths, data, ends, objectHashes, objectPath, objects },
    true,
    BOTH,
  );
  for (let i = 0; i < paths.length; i++) {
    const file = from + paths[i];
    const info = Deno.statSync(file);
    assertEquals(stamps[i], stampOf(info), `file ${i}'s stamp`);
    assertEquals(info.mode! & 0o777, 0o444, `file ${i} is read-only`);
    assertEquals(Deno.readFileSync(file), contentOf(returned, i), `file ${i}'s content`);
    const expected = there.includes(i) ? EXISTED : unlinked.includes(i) ? 0 : LINKED;
    assertEquals(linked[i], expected, `file ${i}`);
    if (expected === LINKED) assertEquals(Deno.statSync(objectPath(hashes[i])).ino, info.ino);
  }
  for (const i of there) {
    assertEquals(await Deno.readTextFile(objectPath(hashes[i])), "in the way\n");
  }
  for (const i of unlinked) {
    await assertRejects(() => Deno.stat(objectPath(hashes[i])), Deno.errors.NotFound);
  }
});

test("writeReturnedMany: a file that is there already throws AlreadyExists, wherever it falls, and is left", async () => {
  for (
    const [at, link] of [[5, true], [FILES - 10, false], [FILES - 10, true], [5, false]] as const
  ) {
    await using dir = await tempDir();
    const from = dir.path("gen/");
    await Deno.mkdir(from);
    const returned = returnedFiles(
      Object.fromEntries(
        Array.from({ length: FILES }, (_, i) => [`f${String(i).padStart(4, "0")}`, `${i}`]),
      ),
    );
    await Deno.writeTextFile(from + returned.paths[at], "mine\n");
    const { paths, data, ends } = returned;
    const objectHashes = paths.map(() => undefined);
    const objects = dir.path("objects/");
    const files = { from, paths, data, ends, objectHashes, objects };
    const write = () => writeReturnedMany({ ...files, objectPath: (h: string) => h }, link, BOTH);
    await assertRejects(write, Deno.errors.AlreadyExists);
    assertEquals(await Deno.readTextFile(from + paths[at]), "mine\n");
  }
});

test("writeReturnedMany without link, on two threads: writable files, and each object asked for written from the same bytes", async () => {
  await using dir = await tempDir();
  const from = dir.path("gen/");
  const returned = returnedFiles(
    Object.fromEntries(Array.from({ length: FILES }, (_, i) => [`d${i % 7}/f${i}`, `copy ${i}\n`])),
  );
  const { paths, data, ends } = returned;
  for (let d = 0; d < 7; d++) await Deno.mkdir(`${from}d${d}`, { recursive: true });
  const hashes = paths.map((_, i) => (0x3000000 + i * 7919).toString(16).padStart(16, "0"));
  const objects = dir.path("objects/");
  const objectPath = (hash: string) => `${objects}${hash.slice(0, 2)}/${hash.slice(2)}`;
  for (const hash of hashes) await Deno.mkdir(`${objects}${hash.slice(0, 2)}`, { recursive: true });
  const there = [2, at(1500) + 1, FILES - 3];
  const none = [0, at(800), FILES - 1];
  for (const i of there) await Deno.writeTextFile(objectPath(hashes[i]), "in the way\n");
  const objectHashes = hashes.map((hash, i) => none.includes(i) ? undefined : hash);
  const written = await writeReturnedMany(
    { from, paths, data, ends, objectHashes, objectPath, objects },
    false,
    BOTH,
  );
  for (let i = 0; i < paths.length; i++) {
    const file = from + paths[i];
    const info = Deno.statSync(file);
    assertEquals(written.stamps[i], stampOf(info), `file ${i}'s stamp`);
    assert((info.mode! & 0o200) !== 0, `file ${i} is writable`);
    assertEquals(Deno.readFileSync(file), contentOf(returned, i), `file ${i}'s content`);
    if (there.includes(i) || none.includes(i)) {
      assertEquals(written.objects[i], undefined, `file ${i}: no object made`);
      continue;
    }
    const object = Deno.statSync(objectPath(hashes[i]));
    assertEquals(written.objects[i], stampOf(object), `object ${i}'s stamp`);
    assertEquals(object.mode! & 0o777, 0o444, `object ${i} is read-only`);
    assert(object.ino !== info.ino, `object ${i} is a copy`);
    assertEquals(Deno.readFileSync(objectPath(hashes[i])), contentOf(returned, i));
  }
  for (const i of there) {
    assertEquals(await Deno.readTextFile(objectPath(hashes[i])), "in the way\n");
  }
});

test("writeReturnedMany: a helper that joins late takes the blocks left from the back, and every file is right", async () => {
  await using dir = await tempDir();
  const from = dir.path("gen/");
  // Long enough that the helper, asked after LATE_CHECK blocks, starts
  // (~30 ms) while this thread has most of the list still to do.
  const n = 96 * 128;
  const returned = returnedFiles(
    Object.fromEntries(Array.from({ length: n }, (_, i) => [`d${i % 11}/f${i}`, `late ${i}\n`])),
  );
  const { paths, data, ends } = returned;
  for (let d = 0; d < 11; d++) await Deno.mkdir(`${from}d${d}`, { recursive: true });
  let asked = 0;
  let late: HelperThread | undefined;
  const lateHelper = () => {
    asked++;
    return (late = HelperThread.start());
  };
  try {
    const written = await writeReturnedMany(
      {
        from,
        paths,
        data,
        ends,
        objectHashes: paths.map(() => undefined),
        objectPath: (h) => h,
        objects: "",
      },
      false,
      { parallelFrom: Infinity, lateHelper },
    );
    assertEquals(asked, 1, "asked once, at the first check, then it had one");
    assert(written.helped > 0 && written.helped < n, `the helper wrote ${written.helped} files`);
    for (const i of [0, 1, 2047, 2048, n / 2, n - 129, n - 1]) {
      const file = from + paths[i];
      assertEquals(written.stamps[i], stampOf(Deno.statSync(file)), `file ${i}'s stamp`);
      assertEquals(Deno.readFileSync(file), contentOf(returned, i), `file ${i}'s content`);
    }
    let files = 0;
    for (let d = 0; d < 11; d++) for (const _ of Deno.readDirSync(`${from}d${d}`)) files++;
    assertEquals(files, n);
  } finally {
    late?.close();
  }
});
