/**
 * Directory outs (issue 16): each file is read once to be hashed and stored,
 * small files written as objects from memory, large ones copied or linked
 * by the kernel; in hardlink mode every workspace file ends as a link to its
 * object, also when the object predates the run; the stamps known from that
 * pass make the next no-op a lookup; checkout builds the tree in one private
 * folder. Two files of one directory with the same content share one object.
 */

import { assert, assertEquals } from "../_assert.ts";
import {
  CLI,
  otherFilesystem,
  type PivotResult,
  runPivot,
  tempDir,
  TempProject,
} from "../_project.ts";
import { output, test } from "../_harness.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { PARALLEL_FROM_STARTED } from "../../lib/storage/stat_many.ts";
import { CHUNK_STAMPS } from "../../lib/storage/state.ts";

const BIG = (1 << 20) + 4096; // past the size read whole

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("dirouts");
pipeline.stage({
  name: "gen",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { gen: out("gen/") },
  run: ({ seed }, ctx) => {
    Deno.mkdirSync(\`\${ctx.outs.gen}/sub/deeper\`, { recursive: true });
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/sub/a.txt\`, seed);
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/sub/deeper/same.txt\`, "same");
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/twin.txt\`, "same");
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/empty.txt\`, "");
    Deno.writeFileSync(\`\${ctx.outs.gen}/big.bin\`, new Uint8Array(${BIG}).fill(7));
  },
});
`;

// twin.txt has same.txt's content: one object, stored once in a run.
const FILES = ["big.bin", "empty.txt", "sub/a.txt", "sub/deeper/same.txt", "twin.txt"];

/** Each file of `gen/`: whether it is its cache object's inode, and whether it is writable. */
async function linkage(p: TempProject): Promise<Record<string, [boolean, boolean]>> {
  const result: Record<string, [boolean, boolean]> = {};
  for (const file of FILES) {
    const path = p.path("gen", file);
    const hash = await hashFile(path);
    const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
    const [info, cached] = [await Deno.stat(path), await Deno.stat(object)];
    assertEquals(await hashFile(object), hash, `${file}'s object is intact`);
    result[file] = [info.ino === cached.ino, (info.mode! & 0o200) !== 0];
  }
  return result;
}

function all(value: [boolean, boolean]): Record<string, [boolean, boolean]> {
  return Object.fromEntries(FILES.map((f) => [f, value]));
}

test("hardlink mode: every file of a directory out is its object, also when the object predates the run", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "seed.txt": "one",
    ".pivot/config.yaml": "cache:\n  type: hardlink\n",
  });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  assertEquals(await linkage(p), all([true, false]));

  // big.bin, empty.txt and same.txt are in the cache already: the staged
  // copies give way to links to those objects.
  await p.write("seed.txt", "two");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  assertEquals(await p.read("gen/sub/a.txt"), "two");
  assertEquals(await linkage(p), all([true, false]));
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });

  await Deno.remove(p.path("gen"), { recursive: true });
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 0, checkout.stderr);
  assertEquals(await linkage(p), all([true, false]));
  assertEquals((await Deno.readFile(p.path("gen/big.bin"))).length, BIG);
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });
});

test("default mode: a directory out's files are writable copies, and the objects stay intact", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "seed.txt": "one" });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  assertEquals(await linkage(p), all([false, true]));
  const big = await Deno.readFile(p.path("gen/big.bin"));
  assertEquals([big.length, big[0], big[BIG - 1]], [BIG, 7, 7]);
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });

  // A file edited in the workspace is seen (the out is to be restored), and
  // checkout brings back the cached version: the object was never touched.
  await p.write("gen/sub/deeper/same.txt", "edited");
  assertEquals(((await p.status()).stages[0] as unknown as { restore: string[] }).restore, ["gen"]);
  await Deno.remove(p.path("gen"), { recursive: true });
  for (const mode of ["copy", "symlink"]) {
    const checkout = await p.pivot("checkout", "--mode", mode, "--force");
    assertEquals(checkout.code, 0, checkout.stderr);
    assertEquals(await p.read("gen/sub/deeper/same.txt"), "same");
    assertEquals(await p.read("gen/sub/a.txt"), "one");
    if (mode === "symlink") assert((await Deno.lstat(p.path("gen/sub/a.txt"))).isSymlink);
    assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });
    await Deno.remove(p.path("gen"), { recursive: true });
  }
});

test("hardlink checkout of a removed directory: an object written in place meanwhile is caught, not linked", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "seed.txt": "one",
    ".pivot/config.yaml": "cache:\n  type: hardlink\n",
  });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  // The tree removed and restored: the objects' stamps are those the
  // directory index recorded, so they are trusted at once.
  await Deno.remove(p.path("gen"), { recursive: true });
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals(await linkage(p), all([true, false]));

  // Copies, then links again: the objects were checked intact by the copy
  // (each one's stamp), and that check is remembered for the manifest.
  for (const mode of ["copy", "hardlink"]) {
    await Deno.remove(p.path("gen"), { recursive: true });
    assertEquals((await p.pivot("checkout", "--mode", mode)).code, 0);
  }
  assertEquals(await linkage(p), all([true, false]));

  // Removed again, and one object written in place (root ignores 0444):
  // its stamp no longer matches what was recorded, so it is re-hashed,
  // found corrupt, and the directory is not restored (nothing placed).
  const hash = await hashFile(p.path("gen/sub/a.txt"));
  const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  await Deno.remove(p.path("gen"), { recursive: true });
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil", { append: true });
  const checkout = await p.pivot("checkout", "--mode", "copy");
  assertEquals(checkout.code, 1, checkout.stderr);
  assert(checkout.stderr.includes(`cache object ${hash} is corrupt`), checkout.stderr);
  assert(checkout.stderr.includes("gen: not in the cache"), checkout.stderr);
  assertEquals(await p.exists("gen"), false);
  assertEquals(await Deno.readTextFile(`${object}.corrupt`), "oneevil");
  // The next run makes the directory afresh.
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  assertEquals(await p.read("gen/sub/a.txt"), "one");
  assertEquals(await linkage(p), all([true, false]));
});

test("a run records its directory's objects as checked: the first checkout trusts them by one digest, and still catches one written in place", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "seed.txt": "one" });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  // Straight after the run (default mode: copies), links from the cache.
  await Deno.remove(p.path("gen"), { recursive: true });
  assertEquals((await p.pivot("checkout", "--mode", "hardlink")).code, 0);
  assertEquals(await linkage(p), all([true, false]));

  // Run again (another seed: a new manifest), then one of its objects
  // written in place before any checkout: its stamp is not the one the run
  // recorded, so it is re-hashed, found corrupt, and nothing is placed.
  await p.write("seed.txt", "two");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  const hash = await hashFile(p.path("gen/sub/a.txt"));
  const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  await Deno.remove(p.path("gen"), { recursive: true });
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil", { append: true });
  const checkout = await p.pivot("checkout", "--mode", "hardlink");
  assertEquals(checkout.code, 1, checkout.stderr);
  assert(checkout.stderr.includes(`cache object ${hash} is corrupt`), checkout.stderr);
  assertEquals(await p.exists("gen"), false);
});

test("a file written beside a directory out (even one whose name starts like it) is refused", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("stray");
pipeline.stage({
  name: "gen",
  outs: { gen: out("gen/") },
  run: (_deps, ctx) => {
    Deno.mkdirSync(\`\${ctx.outs.gen}/sub\`, { recursive: true });
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/sub/a.txt\`, "a");
    Deno.mkdirSync(\`\${ctx.outs.gen}2\`, { recursive: true });
    Deno.writeTextFileSync(\`\${ctx.outs.gen}2/x.txt\`, "x");
  },
});
`,
  });
  const run = await p.pivot("repro");
  assertEquals(run.code, 1, run.stderr);
  const said = run.stdout + run.stderr;
  assert(said.includes("wrote 'gen2/x.txt', which is not a declared out"), said);
  assertEquals(await p.exists("gen"), false);
});

test("a run replaces whatever is at its outs' paths: an old directory's files, a directory where a file goes", async () => {
  // lib/engine/workspace_outs.ts places an out by a rename, and removes what
  // is there first only when the rename cannot replace it.
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("replace");
pipeline.stage({
  name: "tree",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { tree: out("tree/") },
  run: ({ seed }, ctx) => {
    Deno.writeTextFileSync(\`\${ctx.outs.tree}/\${seed.trim()}.txt\`, seed);
  },
});
pipeline.stage({
  name: "flat",
  deps: { seed: dep("seed.txt", loaders.text()) },
  outs: { flat: out("flat.txt", loaders.text()) },
  run: ({ seed }) => ({ flat: seed.trim() + "!" }),
});
`,
    "seed.txt": "one\n",
  });
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals([...Deno.readDirSync(p.path("tree"))].map((e) => e.name), ["one.txt"]);
  // A directory with a file in it where the file out goes.
  await Deno.remove(p.path("flat.txt"));
  await Deno.mkdir(p.path("flat.txt/inside"), { recursive: true });
  await p.write("seed.txt", "two\n");
  const rerun = await p.pivot("repro");
  assertEquals(rerun.code, 0, rerun.stderr);
  assertEquals([...Deno.readDirSync(p.path("tree"))].map((e) => e.name), ["two.txt"]);
  assertEquals(await p.read("flat.txt"), "two!");
  assertEquals((await p.pivot("status", "--json")).code, 0);
});

/**
 * More files than a checkout shares with a helper thread started ahead
 * (PARALLEL_FROM_STARTED: 5,120 files, 160 under PIVOT_TEST_THRESHOLDS=small).
 */
const MANY = PARALLEL_FROM_STARTED * 5 / 4;

const MANY_PIPELINE = `import { out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("many");
pipeline.stage({
  name: "gen",
  outs: { gen: out("gen/") },
  run: (_deps, ctx) => {
    for (let i = 0; i < ${MANY}; i++) {
      const dir = \`\${ctx.outs.gen}/d\${i % 5}\`;
      if (i < 5) Deno.mkdirSync(dir, { recursive: true });
      Deno.writeTextFileSync(\`\${dir}/f\${i}.txt\`, \`file \${i}\\n\`);
    }
  },
});
`;

test("hardlink checkout of a large directory (two threads): every file linked, a bad or missing object stops it", async () => {
  await using p = await TempProject.create({ "pipeline.ts": MANY_PIPELINE });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  const { some, objects } = await sampledObjects(p);
  // Twice: the first checks each object's stamp, the second by one digest
  // (and on one thread, as when no core is free); then from a directory
  // below the root (the objects and the new names are then not under the
  // working directory: linked by absolute paths, not by paths relative to it).
  await Deno.mkdir(p.path("below"));
  for (let round = 0; round < 3; round++) {
    await Deno.remove(p.path("gen"), { recursive: true });
    const args = ["checkout", "--mode", "hardlink"];
    const env = { PIVOT_HELPER_THREAD: round === 1 ? "off" : "on" };
    const checkout = await runPivot(p.path(round < 2 ? "" : "below"), args, env);
    assertEquals(checkout.code, 0, checkout.stderr);
    assertEquals(filesUnderGen(p), MANY, `round ${round}`);
    for (const [k, file] of some.entries()) {
      assertEquals(await p.read(`gen/${file}`), contentOf(file));
      assertEquals((await Deno.stat(p.path("gen", file))).ino, (await Deno.stat(objects[k])).ino);
    }
    assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });
  }

  // Linked before the stamps were checked: nothing placed, and the folder
  // it was linked in is gone too.
  await assertBadObjectsStop(
    p,
    objects,
    (env) => runPivot(p.root, ["checkout", "--mode", "hardlink"], env),
  );
});

/** `pivot checkout --mode copy` in `p` with `env` added, under the umask `umask` when given. */
async function copyCheckout(
  p: TempProject,
  env: Record<string, string>,
  umask?: string,
): Promise<PivotResult> {
  const args = ["checkout", "--mode", "copy"];
  if (umask === undefined) return await runPivot(p.root, args, env);
  // The umask is the process's own: set by the shell that becomes pivot.
  const script = `umask ${umask} && exec "$0" run -A "$@"`;
  const run = await output("sh", {
    args: ["-c", script, Deno.execPath(), CLI, ...args],
    cwd: p.root,
    env: { NO_COLOR: "1", ...env },
  });
  const text = new TextDecoder();
  return { code: run.code, stdout: text.decode(run.stdout), stderr: text.decode(run.stderr) };
}

test("copy checkout of a large directory (two threads, one, a umask of 077): every file a writable copy; a bad or missing object stops it", async () => {
  await using p = await TempProject.create({ "pipeline.ts": MANY_PIPELINE });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  const { some, objects } = await sampledObjects(p);
  // Two threads, one (as when no core is free), then two under a umask of
  // 077 (which must not narrow the copies' 0644).
  for (let round = 0; round < 3; round++) {
    await Deno.remove(p.path("gen"), { recursive: true });
    const env = { PIVOT_HELPER_THREAD: round === 1 ? "off" : "on" };
    const checkout = await copyCheckout(p, env, round === 2 ? "077" : undefined);
    assertEquals(checkout.code, 0, `round ${round}: ${checkout.stderr}`);
    assertEquals(filesUnderGen(p), MANY, `round ${round}`);
    for (const [k, file] of some.entries()) {
      assertEquals(await p.read(`gen/${file}`), contentOf(file));
      const [copy, object] = [await Deno.stat(p.path("gen", file)), await Deno.stat(objects[k])];
      assert(copy.ino !== object.ino, `${file}: a copy, not the object`);
      assertEquals(copy.mode! & 0o777, 0o644, `round ${round}: ${file}`);
    }
    assertEquals(leftovers(p, "gen"), ["gen"]);
    // The copies' stamps are recorded: the next run reads nothing.
    assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["gen"] });
  }

  // Objects whose stamps are unknown (touched; also the case of objects
  // only fetched, never checked together): each is checked on its own after
  // the pass (hashed again), and the copies stand, not made a second time.
  const past = new Date(Date.now() - 3600_000);
  for (const object of objects) await Deno.utime(object, past, past);
  await Deno.remove(p.path("gen"), { recursive: true });
  const touched = await copyCheckout(p, { PIVOT_HELPER_THREAD: "on", PIVOT_TRACE: "1" });
  assertEquals(touched.code, 0, touched.stderr);
  assert(touched.stderr.includes("restore: objects checked one by one"), touched.stderr);
  assert(!touched.stderr.includes("restore: objects verified"), "not the careful path");
  for (const [k, file] of some.entries()) {
    assertEquals(await p.read(`gen/${file}`), contentOf(file));
    assert((await Deno.stat(p.path("gen", file))).ino !== (await Deno.stat(objects[k])).ino);
  }
  assertEquals(leftovers(p, "gen"), ["gen"]);

  // Copied before the stamps were checked: nothing placed, and the folder
  // the copies were made in is gone too.
  await assertBadObjectsStop(p, objects, (env) => copyCheckout(p, env));
});

/** The objects of a sample of {@link MANY_PIPELINE}'s files (at both threads' ends), after a run. */
async function sampledObjects(p: TempProject): Promise<{ some: string[]; objects: string[] }> {
  const [half, all] = [PARALLEL_FROM_STARTED / 2, PARALLEL_FROM_STARTED];
  const some = [0, 1, half, half + 1, all - 1, all, MANY - 1].map((i) => `d${i % 5}/f${i}.txt`);
  const objects = await Promise.all(some.map(async (file) => {
    const hash = await hashFile(p.path("gen", file));
    return p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  }));
  return { some, objects };
}

/** What {@link MANY_PIPELINE} writes in `file` (`dN/fI.txt`). */
function contentOf(file: string): string {
  return `file ${Number(file.slice(file.indexOf("/f") + 2, -4))}\n`;
}

/** Files in `gen/`'s five directories. */
function filesUnderGen(p: TempProject): number {
  let count = 0;
  for (let d = 0; d < 5; d++) {
    for (const _ of Deno.readDirSync(p.path(`gen/d${d}`))) count++;
  }
  return count;
}

/**
 * A checkout of the removed `gen/` (`checkout`, given the helper thread on)
 * stops, placing nothing and leaving no folder beside it: when an object
 * near the end (the helper's share) was written in place, then, after a
 * run made it again, when an object is missing.
 */
async function assertBadObjectsStop(
  p: TempProject,
  objects: readonly string[],
  checkout: (env: Record<string, string>) => Promise<PivotResult>,
): Promise<void> {
  await Deno.remove(p.path("gen"), { recursive: true });
  const bad = objects[objects.length - 1];
  await Deno.chmod(bad, 0o644);
  await Deno.writeTextFile(bad, "evil", { append: true });
  const corrupt = await checkout({ PIVOT_HELPER_THREAD: "on" });
  assertEquals(corrupt.code, 1, corrupt.stderr);
  assert(corrupt.stderr.includes("is corrupt"), corrupt.stderr);
  assertEquals(await p.exists("gen"), false);
  assertEquals(leftovers(p, "gen"), []);

  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
  await Deno.remove(p.path("gen"), { recursive: true });
  await Deno.remove(objects[3]);
  const missing = await checkout({ PIVOT_HELPER_THREAD: "on" });
  assertEquals(missing.code, 1, missing.stderr);
  assertEquals(await p.exists("gen"), false);
  assertEquals(leftovers(p, "gen"), []);
}

/** Names in the project's root that start with `name` (a tree half built beside it). */
function leftovers(p: TempProject, name: string): string[] {
  return [...Deno.readDirSync(p.path("."))].map((e) => e.name).filter((n) => n.startsWith(name));
}

test(
  "hardlink or copy checkout with the cache on another filesystem: each file is placed as a copy",
  { ignore: otherFilesystem() === undefined },
  async () => {
    await using cache = await tempDir({ parent: otherFilesystem() });
    const cacheDir = cache.root;
    await using p = await TempProject.create({
      "pipeline.ts": PIPELINE,
      "seed.txt": "one",
      ".pivot/config.yaml": `cache:\n  dir: ${cacheDir}\n`,
    });
    assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["gen"] });
    for (const mode of ["hardlink", "hardlink", "copy", "copy"]) {
      await Deno.remove(p.path("gen"), { recursive: true });
      const checkout = await p.pivot("checkout", "--mode", mode);
      assertEquals(checkout.code, 0, checkout.stderr);
      assertEquals(await p.read("gen/sub/a.txt"), "one");
      assertEquals(await p.read("gen/twin.txt"), "same");
      for (const file of FILES) {
        const info = await Deno.stat(p.path("gen", file));
        assertEquals([info.nlink, (info.mode! & 0o200) !== 0], [1, true], file);
      }
      assertEquals(leftovers(p, "gen"), ["gen"]);
      const status = (await p.pivot("status")).stdout.trim();
      assert(/^gen\s+up to date$/.test(status), status);
    }
  },
);

/** Files of {@link STREAMED_PIPELINE}'s directory: two chunks of stamps and a half (2,500; 80 small). */
const STREAMED = CHUNK_STAMPS * 5 / 2;
/** A file in the middle of them. */
const MIDDLE = Math.floor(STREAMED / 2);

/** A stage writing `files` files of distinct content into `many/`. */
const STREAMED_PIPELINE = (files: number) =>
  `import { out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("many");
pipeline.stage({
  name: "many",
  outs: { many: out("many/") },
  run: (_deps, ctx) => {
    Deno.mkdirSync(ctx.outs.many, { recursive: true });
    for (let i = 0; i < ${files}; i++) Deno.writeTextFileSync(\`\${ctx.outs.many}/f\${i}.txt\`, \`file \${i}\`);
  },
});
`;

/** The object stamps the state store holds, one entry each (`[object, hash]`), by hash. */
async function objectStamps(p: TempProject): Promise<Map<string, { ino: number }>> {
  const kv = await Deno.openKv(p.path(".pivot/state/state.db"));
  try {
    const entries = await Array.fromAsync(kv.list<{ ino: number }>({ prefix: ["object"] }));
    return new Map(entries.map((e) => [e.key[1] as string, e.value]));
  } finally {
    kv.close();
  }
}

/**
 * The object stamps the state store holds in chunks for a directory's
 * manifest (`[objectChunk, manifest, n]`): the number of chunk values, and
 * each object's inode by hash.
 */
async function chunkedStamps(
  p: TempProject,
): Promise<{ values: number; manifests: Set<string>; inodes: Map<string, number> }> {
  const kv = await Deno.openKv(p.path(".pivot/state/state.db"));
  try {
    const entries = await Array.fromAsync(
      kv.list<{ hashes: string[]; stamps: Float64Array }>({ prefix: ["objectChunk"] }),
    );
    const inodes = new Map<string, number>();
    for (const { value } of entries) {
      value.hashes.forEach((hash, i) => inodes.set(hash, value.stamps[3 * i + 2]));
    }
    return {
      values: entries.length,
      manifests: new Set(entries.map((e) => e.key[1] as string)),
      inodes,
    };
  } finally {
    kv.close();
  }
}

for (const mode of ["copy", "hardlink"]) {
  test(`a directory out of more files than one chunk of stamps holds (${mode}): its objects' stamps are recorded in chunks for its manifest, none with --no-commit`, async () => {
    // STREAMED objects: three chunks (two full, one half), no entry per object.
    await using p = await TempProject.create({
      "pipeline.ts": STREAMED_PIPELINE(STREAMED),
      ".pivot/config.yaml": `cache:\n  type: ${mode}\n`,
    });
    const dry = await p.events("repro", "--no-commit");
    assertEquals(TempProject.byStatus(dry.events), { ran: ["many"] });
    assertEquals((await objectStamps(p)).size, 0, "--no-commit writes no state");
    assertEquals((await chunkedStamps(p)).values, 0, "--no-commit writes no chunk");

    const { events } = await p.events("repro");
    assertEquals(TempProject.byStatus(events), { ran: ["many"] });
    assertEquals((await objectStamps(p)).size, 0, "no entry per object");
    const chunked = await chunkedStamps(p);
    assertEquals(chunked.values, 3);
    assertEquals(chunked.inodes.size, STREAMED);
    // Keyed by the directory's manifest: the cache object listing its STREAMED files.
    const [manifest] = [...chunked.manifests];
    const text = await p.read(`.pivot/cache/files/${manifest.slice(0, 2)}/${manifest.slice(2)}`);
    assertEquals(chunked.manifests.size, 1);
    assertEquals((JSON.parse(text) as { files: unknown[] }).files.length, STREAMED);
    for (const i of [0, MIDDLE, STREAMED - 1]) {
      const hash = await hashFile(p.path("many", `f${i}.txt`));
      const object = await Deno.stat(p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2)));
      assertEquals(chunked.inodes.get(hash), object.ino, `f${i}.txt's object stamp`);
    }
    const again = await p.events("repro");
    assertEquals(TempProject.byStatus(again.events), { skipped: ["many"] });
  });
}

test("a large hardlinked directory out whose stamps are in chunks: a file written in place through its link is caught by push and by checkout, never sent or linked", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": STREAMED_PIPELINE(STREAMED),
    ".pivot/config.yaml":
      "cache:\n  type: hardlink\ncore:\n  remote: share\nremotes:\n  share:\n    url: share\n",
  });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["many"] });
  assertEquals((await objectStamps(p)).size, 0, "no entry per object");
  // The workspace file is the object's inode: written in place (root ignores 0444).
  const file = p.path("many", `f${MIDDLE}.txt`);
  const hash = await hashFile(file);
  const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  assertEquals((await Deno.stat(file)).ino, (await Deno.stat(object)).ino);
  await Deno.chmod(file, 0o644);
  await Deno.writeTextFile(file, "evil", { append: true });

  await Deno.mkdir(p.path("share"));
  const push = await p.pivot("push");
  assert(push.code !== 0, push.stderr);
  assert(push.stderr.includes(`cache object ${hash} is corrupt`), push.stderr);
  assertEquals(await p.exists(`share/files/${hash.slice(0, 2)}/${hash.slice(2)}`), false);
  // Every other object went, each vouched for by its chunked stamp.
  assertEquals(await Deno.readTextFile(`${object}.corrupt`), `file ${MIDDLE}evil`);

  // Removed and checked out: the object is gone (moved aside), so nothing is linked.
  await Deno.remove(p.path("many"), { recursive: true });
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 1, checkout.stderr);
  assert(checkout.stderr.includes("many: not in the cache"), checkout.stderr);
  assertEquals(await p.exists("many"), false);
});

test("a large hardlinked directory out whose stamps are in chunks: an object written in place before a checkout is caught, not linked", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": STREAMED_PIPELINE(STREAMED),
    ".pivot/config.yaml": "cache:\n  type: hardlink\n",
  });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["many"] });
  const hash = await hashFile(p.path("many", "f7.txt"));
  const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  await Deno.remove(p.path("many"), { recursive: true });
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil", { append: true });
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 1, checkout.stderr);
  assert(checkout.stderr.includes(`cache object ${hash} is corrupt`), checkout.stderr);
  assertEquals(await p.exists("many"), false);
  // The next run makes the directory afresh; then a checkout after removing it links it whole.
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["many"] });
  await Deno.remove(p.path("many"), { recursive: true });
  const again = await p.pivot("checkout");
  assertEquals(again.code, 0, again.stderr);
  assertEquals(await p.read("many/f7.txt"), "file 7");
});

test("a large directory pulled into an empty cache: its objects' stamps are recorded in chunks for its manifest; checkout and push re-hash none; an object corrupted after is caught", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": STREAMED_PIPELINE(STREAMED),
    ".pivot/config.yaml":
      "core:\n  remote: share\nremotes:\n  share:\n    url: share\n  other:\n    url: other\n",
  });
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { ran: ["many"] });
  await Deno.mkdir(p.path("share"));
  const pushed = await p.pivot("push");
  assertEquals(pushed.code, 0, pushed.stderr);
  // An empty cache and state, the workspace directory gone: all comes from the remote.
  for (const path of [".pivot/cache", ".pivot/state", "many"]) {
    await Deno.remove(p.path(path), { recursive: true });
  }
  const pull = await p.pivot("pull", "--json");
  assertEquals(pull.code, 0, pull.stderr);
  // The files and the manifest.
  assertEquals(JSON.parse(pull.stdout).transferred, STREAMED + 1, pull.stdout);
  assertEquals(await p.read(`many/f${MIDDLE}.txt`), `file ${MIDDLE}`);

  const hashes = new Set<string>();
  for (let i = 0; i < STREAMED; i++) hashes.add(await hashFile(p.path("many", `f${i}.txt`)));
  const noEntry = async (when: string) => {
    const entries = [...(await objectStamps(p)).keys()].filter((hash) => hashes.has(hash));
    assertEquals(entries, [], `${when}: no [object, …] entry of a file (none re-hashed)`);
  };
  await noEntry("pull");
  const chunked = await chunkedStamps(p);
  assertEquals(chunked.values, 3);
  assertEquals(chunked.manifests.size, 1);
  assertEquals(chunked.inodes.size, STREAMED);
  for (const i of [0, MIDDLE, STREAMED - 1]) {
    const hash = await hashFile(p.path("many", `f${i}.txt`));
    const object = await Deno.stat(p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2)));
    assertEquals(chunked.inodes.get(hash), object.ino, `f${i}.txt's object stamp`);
  }

  // A checkout of the removed directory and a push to a new remote read the chunks.
  await Deno.remove(p.path("many"), { recursive: true });
  const checkout = await p.pivot("checkout");
  assertEquals(checkout.code, 0, checkout.stderr);
  assertEquals(await p.read("many/f7.txt"), "file 7");
  await Deno.mkdir(p.path("other"));
  const again = await p.pivot("push", "--json", "-r", "other");
  assertEquals(again.code, 0, again.stderr);
  assertEquals(JSON.parse(again.stdout).transferred, STREAMED + 1, again.stdout);
  await noEntry("checkout and push");
  assertEquals((await chunkedStamps(p)).values, 3);

  // An object written in place after the pull: its stamp matches no record, so it is re-read and caught.
  const hash = await hashFile(p.path("many", `f${STREAMED - 1}.txt`));
  const object = p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2));
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "evil", { append: true });
  await Deno.remove(p.path("many"), { recursive: true });
  const caught = await p.pivot("checkout");
  assertEquals(caught.code, 1, caught.stderr);
  assert(caught.stderr.includes(`cache object ${hash} is corrupt`), caught.stderr);
  assertEquals(await p.exists("many"), false);
});

test("a large directory out stored by `pivot commit`: its objects' stamps in chunks for its manifest, none one by one", async () => {
  await using p = await TempProject.create({ "pipeline.ts": STREAMED_PIPELINE(STREAMED) });
  const dry = await p.events("repro", "--no-commit");
  assertEquals(TempProject.byStatus(dry.events), { ran: ["many"] });
  const commit = await p.pivot("commit");
  assertEquals(commit.code, 0, commit.stderr);
  const hashes = new Set<string>();
  for (let i = 0; i < STREAMED; i++) hashes.add(await hashFile(p.path("many", `f${i}.txt`)));
  const entries = [...(await objectStamps(p)).keys()].filter((hash) => hashes.has(hash));
  assertEquals(entries, [], "no [object, …] entry of a file");
  const chunked = await chunkedStamps(p);
  assertEquals([chunked.values, chunked.manifests.size, chunked.inodes.size], [3, 1, STREAMED]);
  for (const i of [0, STREAMED - 1]) {
    const hash = await hashFile(p.path("many", `f${i}.txt`));
    const object = await Deno.stat(p.path(".pivot/cache/files", hash.slice(0, 2), hash.slice(2)));
    assertEquals(chunked.inodes.get(hash), object.ino, `f${i}.txt's object stamp`);
  }
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["many"] });
});
