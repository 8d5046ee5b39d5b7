/**
 * Directories in lock files (SPEC §5): recorded by their manifest's hash with
 * their file count and total size, the manifest a cache object, so a lock
 * file stays small however many files; `status --explain` still names the
 * files that changed; lock files of older Pivot (listing every file) are read
 * as they are.
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { openState } from "../_project.ts";
import { NS } from "../../lib/storage/state.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { PARALLEL_FROM } from "../../lib/storage/stat_many.ts";
import { TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("dirs");
pipeline.stage({
  name: "count",
  deps: { images: dep("images/", loaders.pathOnly()) },
  outs: { n: out("count.txt", loaders.text()) },
  run: ({ images }) => ({ n: String([...Deno.readDirSync(images)].length) }),
});
`;

const FILES = 300;

function images(): Record<string, string> {
  const files: Record<string, string> = {};
  for (let i = 0; i < FILES; i++) files[`images/img${String(i).padStart(4, "0")}.txt`] = `${i}`;
  return files;
}

function lockedDir(lock: string): { hash: string; files: number; size: number } {
  const match = /- files: (\d+)\n\s+hash: "?([0-9a-f]{16})"?\n\s+path: images\n\s+size: (\d+)/
    .exec(lock);
  assert(match, lock);
  return { files: Number(match[1]), hash: match[2], size: Number(match[3]) };
}

test("a directory dep is locked as its manifest's hash, count and size; the manifest is cached", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, ...images() });
  assertEquals((await p.pivot("repro")).code, 0);
  const lock = await p.read(".pivot/stages/count.lock");
  assert(lock.length < 600, `a lock file of ${lock.length} bytes:\n${lock}`);
  const dir = lockedDir(lock);
  const size = Object.values(images()).reduce((n, text) => n + text.length, 0);
  assertEquals([dir.files, dir.size], [FILES, size]);
  const object = p.path(`.pivot/cache/files/${dir.hash.slice(0, 2)}/${dir.hash.slice(2)}`);
  assertEquals(await hashFile(object), dir.hash, "the manifest is a cache object");
  assertEquals(JSON.parse(await Deno.readTextFile(object)).files.length, FILES);

  // The files' stamps live in the directory's own index, not one entry each.
  {
    await using state = await openState(p.path(".pivot"));
    const perFile = (await state.list<unknown>([NS.file]))
      .filter(({ key }) => String(key[1]).startsWith("images/"));
    assertEquals(perFile.length, 0);
    assertEquals((await state.get<{ hash: string }>([NS.dir, "images"]))?.hash, dir.hash);
  }
  const again = await p.events("repro");
  assertEquals(TempProject.byStatus(again.events), { skipped: ["count"] });
});

test("status --explain names the files that changed in a directory dep", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, ...images() });
  assertEquals((await p.pivot("repro")).code, 0);
  await p.write("images/img0007.txt", "seven");
  await p.write("images/new.txt", "new");
  await Deno.remove(p.path("images/img0100.txt"));

  const explain = await p.pivot("status", "--explain");
  assertEquals(explain.code, 0, explain.stderr);
  assertMatch(
    explain.stdout,
    /images: [0-9a-f]{8} -> [0-9a-f]{8}\n\s+modified: img0007\.txt\n\s+added: new\.txt\n\s+removed: img0100\.txt\n/,
  );
  const stage = (await p.status()).stages[0];
  assertEquals((stage.changes.deps[0] as { files: unknown }).files, {
    added: ["new.txt"],
    removed: ["img0100.txt"],
    modified: ["img0007.txt"],
  });
  // `repro --explain` names them too (its prediction does; the run's own
  // decisions do not read the manifests again), then runs the stage.
  const repro = await p.pivot("repro", "--explain");
  assertEquals(repro.code, 0, repro.stderr);
  assertMatch(
    repro.stdout,
    /modified: img0007\.txt\n\s+added: new\.txt\n\s+removed: img0100\.txt\n/,
  );
  assertMatch(repro.stdout, /ran\s+count/);
  assertEquals(await p.read("count.txt"), String(FILES));
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["count"] });
});

test("a lock file of older Pivot, listing every file of a directory, is read as it is", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, ...images() });
  assertEquals((await p.pivot("repro")).code, 0);
  const lock = await p.read(".pivot/stages/count.lock");
  const dir = lockedDir(lock);
  const manifest = JSON.parse(
    await Deno.readTextFile(
      p.path(`.pivot/cache/files/${dir.hash.slice(0, 2)}/${dir.hash.slice(2)}`),
    ),
  ) as { files: { path: string; hash: string }[] };
  // Rewrite the dep as older Pivot wrote it, and drop the manifest object.
  const list = manifest.files.map((f) => `      - hash: "${f.hash}"\n        path: ${f.path}\n`)
    .join("");
  const legacy = lock.replace(
    /- files: \d+\n(\s+)hash: (.*)\n\s+path: images\n\s+size: \d+\n/,
    (_m, indent, hash) => `- files:\n${list}${indent}hash: ${hash}\n${indent}path: images\n`,
  );
  assert(legacy.length > 10_000, legacy.slice(0, 200));
  await p.write(".pivot/stages/count.lock", legacy);
  await Deno.remove(p.path(`.pivot/cache/files/${dir.hash.slice(0, 2)}/${dir.hash.slice(2)}`));

  assertEquals((await p.status()).stages[0].status, "up-to-date");
  await p.write("images/img0001.txt", "one");
  const explain = await p.pivot("status", "--explain");
  assertMatch(explain.stdout, /modified: img0001\.txt/);
  assertEquals((await p.pivot("repro")).code, 0);
  const rewritten = await p.read(".pivot/stages/count.lock");
  assert(rewritten.length < 600, rewritten);
});

test("a directory dep of over PARALLEL_FROM files (stats on two threads): edits, additions, removals and renames each re-run the stage", async () => {
  const pipeline = PIPELINE.replace(
    "String([...Deno.readDirSync(images)].length)",
    "String([...Deno.readDirSync(images)].reduce((n, d) => n + [...Deno.readDirSync(`${images}/${d.name}`)].length, 0))",
  );
  await using p = await TempProject.create({ "pipeline.ts": pipeline });
  const count = PARALLEL_FROM + 100;
  // In 17 folders (of 1,024 files; 32 under PIVOT_TEST_THRESHOLDS=small).
  const per = PARALLEL_FROM / 16;
  const name = (i: number) => `images/s${Math.floor(i / per)}/f${String(i).padStart(5, "0")}.txt`;
  for (let i = 0; i < count; i += per) Deno.mkdirSync(p.path(name(i), ".."), { recursive: true });
  for (let i = 0; i < count; i++) Deno.writeTextFileSync(p.path(name(i)), `${i}`);
  const repro = async (expected: string) => {
    const { events } = await p.events("repro");
    assertEquals(TempProject.byStatus(events), { [expected]: ["count"] });
    return lockedDir(await p.read(".pivot/stages/count.lock"));
  };
  const first = await repro("ran");
  assertEquals(first.files, count);
  assertEquals((await repro("skipped")).hash, first.hash);
  // The same size, a new mtime: its content is read.
  Deno.writeTextFileSync(p.path(name(count - 2)), "XXXXX");
  const edited = await repro("ran");
  assert(edited.hash !== first.hash);
  Deno.writeTextFileSync(p.path(name(count - 2)), `${count - 2}`);
  // The first content again: the same hash, the stage's outs restored from the run cache.
  assertEquals((await repro("restored")).hash, first.hash);
  Deno.writeTextFileSync(p.path("images/s0/added.txt"), "added");
  assertEquals((await repro("ran")).files, count + 1);
  Deno.removeSync(p.path("images/s0/added.txt"));
  Deno.removeSync(p.path(name(Math.floor(count / 2))));
  const removed = await repro("ran");
  assertEquals(removed.files, count - 1);
  // Into the last folder.
  const renamedTo = `images/s${Math.floor((count - 1) / per)}/renamed.txt`;
  Deno.renameSync(p.path(name(10)), p.path(renamedTo));
  const renamed = await repro("ran");
  assertEquals(renamed.files, count - 1);
  assert(renamed.hash !== removed.hash);
  Deno.renameSync(p.path(renamedTo), p.path(name(10)));
  assertEquals((await repro("restored")).hash, removed.hash);
  assertEquals(await p.read("count.txt"), `${count - 1}`);
});
