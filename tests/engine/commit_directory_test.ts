/**
 * A directory out committed in the default (copy) mode, its objects made on
 * both lanes (this thread and, every other one, Deno's blocking pool), with
 * the synchronous lane's creates as they come or each counted as slow (so
 * that `CreatePace` turns to asynchronous creates), and, for a directory of
 * `WRITER_FROM` files or more, by the object writer thread and this one:
 * every object intact and read-only, the workspace files independent of
 * them, each object's stamp remembered as its own.
 */

import { assert, assertEquals } from "../_assert.ts";
import { CreatePace } from "../../lib/storage/cache.ts";
import { hashBytes } from "../../lib/storage/hash.ts";
import { CHUNK_STAMPS, NS, stampOf } from "../../lib/storage/state.ts";
import { readLock } from "../../lib/storage/lock_file.ts";
import { WRITER_FROM } from "../../lib/storage/object_writer.ts";
import { PARALLEL_FROM_STARTED } from "../../lib/storage/stat_many.ts";
import { engineProject } from "./_engine.ts";
import { otherFilesystem, tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

const files = (count: number) => ({
  "pivot.yaml": `stages:\n  gen:\n    run: stages.ts#gen\n    outs: { out: gen/ }\n`,
  // `count` files in folders of 100; every tenth has the content of another
  // (one object for both, stored once whichever lane meets it first).
  "stages.ts": `export function gen(_deps, ctx) {
  for (let i = 0; i < ${count}; i++) {
    const dir = \`\${ctx.outs.out}/d\${Math.floor(i / 100)}\`;
    Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(\`\${dir}/f\${i}.txt\`, i % 10 === 0 ? "same\\n" : \`file \${i}\\n\`);
  }
}
`,
});

/**
 * Run `project`'s wave (its one stage, `gen`, must run and succeed) and the
 * files of the directory it committed, as its lock file's manifest lists
 * them (`count` of them).
 */
async function committedFiles(
  project: Awaited<ReturnType<typeof engineProject>>,
  count: number,
): Promise<readonly { readonly path: string; readonly hash: string }[]> {
  const summary = await project.wave();
  assertEquals([summary.ran, summary.failed], [1, 0]);
  const { cache, state } = project.context;
  const lock = await readLock(project.stage("gen").lockFile, "gen.lock", state);
  const manifest = await cache.readManifest(lock!.outs[0].hash);
  assertEquals(manifest?.files.length, count);
  return manifest!.files;
}

/**
 * A small directory: below every threshold of a large one (CHUNKED_FROM the
 * lowest): 300 files, 9 under PIVOT_TEST_THRESHOLDS=small.
 */
const SMALL = Math.floor(CHUNK_STAMPS * 3 / 10);

const CASES = [
  ["creates as they come", 2, SMALL],
  ["creates each counted as slow", 0, SMALL],
  ["objects made by the writer thread", 2, Math.ceil(WRITER_FROM / 100) * 100 + 100],
] as const;

for (const [how, slowMs, count] of CASES) {
  test(`a directory out committed, ${how}: every object intact, the workspace its own`, async () => {
    const pace = new CreatePace(slowMs, 2);
    await using project = await engineProject(files(count), { checkoutMode: "copy", pace });
    const committed = await committedFiles(project, count);
    const { cache, state } = project.context;
    const distinct = new Set(committed.map((f) => f.hash));
    assertEquals(distinct.size, count - Math.ceil(count / 10) + 1);
    for (const { path, hash } of committed) {
      const file = project.dir.path(`gen/${path}`);
      const object = cache.objectPath(hash);
      const bytes = await Deno.readFile(object);
      assertEquals(await hashBytes(bytes), hash, `${path}: its object is whole`);
      assertEquals(await Deno.readFile(file), bytes);
      const [fileInfo, objectInfo] = [await Deno.stat(file), await Deno.stat(object)];
      assertEquals(objectInfo.mode! & 0o777, 0o444, `${path}: its object is read-only`);
      assert(fileInfo.ino !== objectInfo.ino, `${path}: the workspace file is not the object`);
      // The stamp remembered for the object is the object's own.
      assertEquals(await state.objectStamp(hash), stampOf(objectInfo));
    }
    // A write to a workspace file leaves its object alone.
    const first = committed[1];
    await Deno.writeTextFile(project.dir.path(`gen/${first.path}`), "edited\n");
    assertEquals(await hashBytes(await Deno.readFile(cache.objectPath(first.hash))), first.hash);
  });
}

/**
 * A large directory: over PARALLEL_FROM_STARTED files (shared with a helper
 * thread), a multiple of ten (4,510; 140 under PIVOT_TEST_THRESHOLDS=small).
 */
const LARGE = Math.ceil(PARALLEL_FROM_STARTED * 1.1 / 10) * 10;

/** `n` files in folders of 1,000; every tenth has the content of another. */
const linkedFiles = (n: number) => ({
  "pivot.yaml": `stages:\n  gen:\n    run: stages.ts#gen\n    outs: { out: gen/ }\n`,
  "stages.ts": `export function gen(_deps, ctx) {
  for (let i = 0; i < ${n}; i++) {
    const dir = \`\${ctx.outs.out}/d\${Math.floor(i / 1000)}\`;
    if (i % 1000 === 0) Deno.mkdirSync(dir, { recursive: true });
    Deno.writeTextFileSync(\`\${dir}/f\${i}.txt\`, i % 10 === 0 ? "same\\n" : \`file \${i}\\n\`);
  }
}
`,
});

for (const [size, n] of [["small", SMALL], ["large, linked on two threads", LARGE]] as const) {
  test(`a ${size} directory out committed in hardlink mode: each file its object's inode, read-only, the object's own stamp remembered`, async () => {
    // The helper thread whatever the machine's load (a large directory's links are shared with it).
    Deno.env.set("PIVOT_HELPER_THREAD", "on");
    try {
      // (A pace given: the cache is given the state store, so object stamps are remembered.)
      await using project = await engineProject(linkedFiles(n), {
        checkoutMode: "hardlink",
        pace: new CreatePace(),
      });
      const committed = await committedFiles(project, n);
      const { cache, state } = project.context;
      for (const { path, hash } of committed) {
        const file = project.dir.path(`gen/${path}`);
        const object = cache.objectPath(hash);
        assertEquals(
          await hashBytes(await Deno.readFile(object)),
          hash,
          `${path}: its object is whole`,
        );
        const [fileInfo, objectInfo] = [await Deno.stat(file), await Deno.stat(object)];
        assertEquals(fileInfo.ino, objectInfo.ino, `${path}: the workspace file is its object`);
        assertEquals(objectInfo.mode! & 0o777, 0o444, `${path}: read-only`);
        assertEquals(await state.objectStamp(hash), stampOf(objectInfo), `${path}: its stamp`);
      }
    } finally {
      Deno.env.delete("PIVOT_HELPER_THREAD");
    }
  });
}

for (const [size, n] of [["small", SMALL], ["large", LARGE]] as const) {
  test(
    `a ${size} directory out committed in hardlink mode with the cache on another filesystem: copies, the workspace files writable`,
    { ignore: otherFilesystem() === undefined },
    async () => {
      Deno.env.set("PIVOT_HELPER_THREAD", "on");
      try {
        await using elsewhere = await tempDir({ parent: otherFilesystem() });
        await using project = await engineProject(linkedFiles(n), {
          checkoutMode: "hardlink",
          pace: new CreatePace(),
        });
        await Deno.symlink(elsewhere.root, project.dir.path(".pivot/cache"));
        const committed = await committedFiles(project, n);
        const { cache, state } = project.context;
        for (const { path, hash } of committed) {
          const file = project.dir.path(`gen/${path}`);
          const object = cache.objectPath(hash);
          assertEquals(await hashBytes(await Deno.readFile(file)), hash, `${path}: intact`);
          const [fileInfo, objectInfo] = [await Deno.stat(file), await Deno.stat(object)];
          assert(fileInfo.ino !== objectInfo.ino, `${path}: a copy`);
          assertEquals([fileInfo.nlink, (fileInfo.mode! & 0o200) !== 0], [1, true], path);
          assertEquals(objectInfo.mode! & 0o777, 0o444, `${path}: its object read-only`);
          assertEquals(await state.objectStamp(hash), stampOf(objectInfo), `${path}: its stamp`);
        }
      } finally {
        Deno.env.delete("PIVOT_HELPER_THREAD");
      }
    },
  );
}

/** {@link linkedFiles}, and one file larger than `SMALL_FILE` (hashed as a stream). */
const linkedFilesAndLarge = (n: number) => ({
  ...linkedFiles(n),
  "stages.ts": linkedFiles(n)["stages.ts"].replace(
    /\n}\n$/,
    `\n  Deno.writeFileSync(\`\${ctx.outs.out}/d0/large.bin\`, new Uint8Array(1_500_000).fill(7));\n}\n`,
  ),
});

test("a large directory out committed in hardlink mode: the same manifest on two threads as on one, each file its object's inode", async () => {
  const n = LARGE;
  const manifests: (readonly { readonly path: string; readonly hash: string }[])[] = [];
  for (const helper of ["on", "off"]) {
    Deno.env.set("PIVOT_HELPER_THREAD", helper);
    try {
      await using project = await engineProject(linkedFilesAndLarge(n), {
        checkoutMode: "hardlink",
        pace: new CreatePace(),
      });
      const committed = await committedFiles(project, n + 1);
      const { cache, state } = project.context;
      const large = committed.find((f) => f.path === "d0/large.bin");
      assertEquals(large?.hash, await hashBytes(new Uint8Array(1_500_000).fill(7)));
      for (const { path, hash } of committed) {
        const file = project.dir.path(`gen/${path}`);
        const object = cache.objectPath(hash);
        const [fileInfo, objectInfo] = [await Deno.stat(file), await Deno.stat(object)];
        assertEquals(fileInfo.ino, objectInfo.ino, `${path}: the workspace file is its object`);
        assertEquals(objectInfo.mode! & 0o777, 0o444, `${path}: read-only`);
        assertEquals(await state.objectStamp(hash), stampOf(objectInfo), `${path}: its stamp`);
      }
      manifests.push(committed);
    } finally {
      Deno.env.delete("PIVOT_HELPER_THREAD");
    }
  }
  assertEquals(manifests[0], manifests[1]);
});

test("a directory out of ten chunks' worth of files committed in hardlink mode: its objects' stamps in ten chunks for its manifest, none an entry of its own, each its object's", async () => {
  const n = 10 * CHUNK_STAMPS;
  await using project = await engineProject(linkedFiles(n), {
    checkoutMode: "hardlink",
    pace: new CreatePace(),
  });
  const committed = await committedFiles(project, n);
  const { cache, state } = project.context;
  await state.flush();
  const count = async (prefix: Deno.KvKey) =>
    (await Array.fromAsync(state.kv.list({ prefix }))).length;
  const lock = await readLock(project.stage("gen").lockFile, "gen.lock", state);
  const manifest = lock!.outs[0].hash;
  assertEquals(await count([NS.objectChunk]), 10);
  assertEquals(await count([NS.objectChunk, manifest]), 10);
  const distinct = new Set(committed.map((f) => f.hash));
  assertEquals(await count([NS.object]), 0);
  assertEquals(distinct.size, n - n / 10 + 1);
  for (const { path, hash } of committed) {
    const objectInfo = await Deno.stat(cache.objectPath(hash));
    assertEquals(await state.objectStamp(hash), stampOf(objectInfo), `${path}: its stamp`);
    assert(await state.objectKnownAs(hash, stampOf(objectInfo)), path);
  }
});
