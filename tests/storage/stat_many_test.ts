import { HelperThread, linkMany, statAndLinkMany, statMany } from "../../lib/storage/stat_many.ts";
import { stampOf } from "../../lib/storage/state.ts";
import { assert, assertEquals, assertRejects } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

/** Several blocks of items; the helper is used, and takes the last block before the caller takes any. */
const FILES = 3000;
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
  const missing = new Set([5, 511, 512, 1700, 2600, FILES - 1]);
  for (const i of missing) await Deno.remove(paths[i]);
  const stamps = await statMany(paths, BOTH);
  for (let i = 0; i < FILES; i++) {
    if (missing.has(i)) assertEquals(stamps[i], undefined, `file ${i}`);
    else assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])), `file ${i}`);
  }
});

test("linkMany on two threads links every file to its source", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  const linked = await linkMany(sources, dests, BOTH);
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
  for (let i = 0; i < FILES; i += 97) {
    assertEquals(Deno.statSync(dests[i]).ino, Deno.statSync(sources[i]).ino, `file ${i}`);
  }
});

test("linkMany leaves a file it cannot link to the caller, and links the rest", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  const gone = [3, 600, 2600, 2999];
  for (const i of gone) await Deno.remove(sources[i]);
  const linked = await linkMany(sources, dests, BOTH);
  for (let i = 0; i < FILES; i++) {
    const expected = gone.includes(i) ? 0 : 1;
    assertEquals(linked[i], expected, `file ${i}`);
    assertEquals((await Deno.lstat(dests[i]).catch(() => undefined)) !== undefined, expected === 1);
  }
});

test("linkMany throws when something is at a new name already", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = sources.map((p) => p.replace("/src/", "/dst/"));
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  await Deno.writeTextFile(dests[1500], "in the way\n");
  await assertRejects(() => linkMany(sources, dests, BOTH), Deno.errors.AlreadyExists);
  assert(Deno.readTextFileSync(dests[1500]) === "in the way\n", "not replaced");
});

/** `sources` and, for each, a new name under `dst/` (its directories made). */
async function withDests(dir: { path(rel: string): string }, sources: string[]): Promise<string[]> {
  for (let d = 0; d < 7; d++) await Deno.mkdir(dir.path(`dst/d${d}`), { recursive: true });
  return sources.map((p) => p.replace("/src/", "/dst/"));
}

test("statAndLinkMany on two threads gives each source's stamp and links it", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = await withDests(dir, sources);
  const { stamps, linked } = await statAndLinkMany(sources, dests, BOTH);
  assertEquals(linked.reduce((a, b) => a + b, 0), FILES);
  for (let i = 0; i < FILES; i++) {
    assertEquals(stamps[i], stampOf(Deno.statSync(sources[i])), `file ${i}`);
    assertEquals(Deno.statSync(dests[i]).ino, stamps[i]!.ino, `file ${i}`);
  }
});

test("statAndLinkMany: a missing source has no stamp and no link, wherever it falls", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = await withDests(dir, sources);
  // In the calling thread's blocks, at block edges, and in the helper's (the last).
  const gone = new Set([0, 127, 128, 1500, FILES - 200, FILES - 1]);
  for (const i of gone) await Deno.remove(sources[i]);
  const { stamps, linked } = await statAndLinkMany(sources, dests, BOTH);
  for (let i = 0; i < FILES; i++) {
    if (gone.has(i)) {
      assert(i in stamps && stamps[i] === undefined, `file ${i}: undefined, not a hole`);
      assertEquals(linked[i], 0, `file ${i}`);
      assertEquals(await Deno.lstat(dests[i]).catch(() => undefined), undefined, `file ${i}`);
    } else {
      assertEquals(stamps[i], stampOf(Deno.statSync(sources[i])), `file ${i}`);
      assertEquals(linked[i], 1, `file ${i}`);
    }
  }
  const alone = await statAndLinkMany(sources, sources.map((p) => `${p}.again`));
  assertEquals(alone.stamps, stamps, "one thread gives the same");
});

test("statAndLinkMany throws when something is at a new name already", async () => {
  await using dir = await tempDir();
  const sources = await writeFiles(dir.path("src"), FILES);
  const dests = await withDests(dir, sources);
  await Deno.writeTextFile(dests[FILES - 3], "in the way\n");
  await assertRejects(() => statAndLinkMany(sources, dests, BOTH), Deno.errors.AlreadyExists);
  assert(Deno.readTextFileSync(dests[FILES - 3]) === "in the way\n", "not replaced");
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
    for (let i = 0; i < FILES; i += 97) {
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
    for (let i = 0; i < FILES; i += 53) {
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
  for (let i = 0; i < FILES; i += 53) assertEquals(stamps[i], stampOf(Deno.statSync(paths[i])));
});
