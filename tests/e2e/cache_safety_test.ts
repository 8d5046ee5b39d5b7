/**
 * Nothing lost: a write to a workspace out never changes the cache (SPEC §5),
 * also as root, where read-only objects protect nothing; an object changed
 * behind Pivot's back is reported and never used; `git checkout REV && pivot
 * checkout` just works (SPEC §6).
 */

import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { hashFile } from "../../lib/storage/hash.ts";
import { TempProject } from "../_project.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("safety");
pipeline.stage({
  name: "train",
  deps: { data: dep("data.txt", loaders.text()) },
  outs: { model: out("model.json", loaders.json<{ w: string }>()) },
  run: ({ data }) => ({ model: { w: data.trim() } }),
});
`;

async function appendInPlace(path: string, text: string): Promise<void> {
  // open(…, "a"): the same inode, as a user's script or editor would write it.
  using file = await Deno.open(path, { append: true });
  await file.write(new TextEncoder().encode(text));
}

function objectOf(p: TempProject, hash: string): string {
  return p.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`);
}

async function lockedHash(p: TempProject, out: string): Promise<string> {
  const lock = await p.read(".pivot/stages/train.lock");
  const match = new RegExp(`hash: ([0-9a-f]{16})\\n\\s+kind: \\w+\\n\\s+path: ${out}`).exec(lock);
  assert(match, lock);
  return match[1];
}

test("default checkout: an out written in place never changes its cache object", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "1\n" });
  assertEquals((await p.pivot("repro")).code, 0);
  const original = await p.read("model.json");
  const info = await Deno.lstat(p.path("model.json"));
  assert(info.isFile && info.nlink === 1, "the workspace out is its own file, not a link");
  const hash = await lockedHash(p, "model.json");
  await appendInPlace(p.path("model.json"), "tampered");
  assertEquals(await hashFile(objectOf(p, hash)), hash, "the object is intact");

  // The edit is not in the cache: checkout refuses to drop it without --force.
  const refused = await p.pivot("checkout");
  assertEquals(refused.code, 1, refused.stderr);
  assertMatch(refused.stderr, /model\.json: edited in the workspace.*--force/);
  const forced = await p.pivot("checkout", "--force");
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await p.read("model.json"), original);
  assertEquals((await p.status()).stages[0].status, "up-to-date");
});

for (const mode of ["hardlink", "symlink"]) {
  test(`${mode} checkout: an out written in place is detected and its object never trusted`, async () => {
    await using p = await TempProject.create({
      "pipeline.ts": PIPELINE,
      "data.txt": "1\n",
      ".pivot/config.yaml": `cache:\n  type: ${mode}\n`,
    });
    assertEquals((await p.pivot("repro")).code, 0);
    const original = await p.read("model.json");
    const hash = await lockedHash(p, "model.json");
    await appendInPlace(p.path("model.json"), "tampered");

    // The object shares the workspace file's data: it is now corrupt. status
    // must not promise to restore it.
    const status = await p.pivot("status", "--json");
    assertEquals(status.code, 0, status.stderr);
    const train = JSON.parse(status.stdout).stages[0];
    assertEquals([train.status, train.reasons], ["will-run", ["outs-missing"]]);
    assertMatch(status.stderr, new RegExp(`cache object ${hash} is corrupt`));

    const forced = await p.pivot("checkout", "--force");
    assertEquals(forced.code, 1);
    assertMatch(forced.stderr, /model\.json: not in the cache: run 'pivot repro train'/);

    const repro = await p.events("repro");
    assertEquals(TempProject.byStatus(repro.events), { ran: ["train"] });
    assertEquals(await p.read("model.json"), original);
    assertEquals(await hashFile(objectOf(p, hash)), hash, "the object is stored anew");
  });
}

test("hardlink checkout: committing an out written in place leaves no corrupt object behind", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "data.txt": "1\n",
    ".pivot/config.yaml": "cache:\n  type: hardlink\n",
  });
  assertEquals((await p.pivot("repro")).code, 0);
  const original = await p.read("model.json");
  const firstLock = await p.read(".pivot/stages/train.lock");
  const hash = await lockedHash(p, "model.json");
  await appendInPlace(p.path("model.json"), "tampered");
  // commit stores the edit as a new object; the old object, written in
  // place through the link, must not stay in the cache under its name.
  const commit = await p.pivot("commit");
  assertEquals(commit.code, 0, commit.stderr);
  const object = objectOf(p, hash);
  const left = await Deno.stat(object).then(() => hashFile(object), () => undefined);
  assert(left === undefined || left === hash, "no object under a hash it does not have");

  // Back to the first lock file (git checkout of an older commit, say).
  await p.write(".pivot/stages/train.lock", firstLock);
  const checkout = await p.pivot("checkout", "--force");
  assertEquals(checkout.code, 1);
  assertMatch(checkout.stderr, /model\.json: not in the cache/);
  // repro brings back what `commit` recorded for these inputs (the run
  // cache), and the lock file claims exactly the content in the workspace.
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals(await hashFile(p.path("model.json")), await lockedHash(p, "model.json"));
  assertEquals((await p.read("model.json")).startsWith(original), true);
});

test("a cache object whose content no longer matches its hash is reported and treated as missing", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PIPELINE, "data.txt": "1\n" });
  assertEquals((await p.pivot("repro")).code, 0);
  const original = await p.read("model.json");
  const hash = await lockedHash(p, "model.json");
  const object = objectOf(p, hash);
  await Deno.chmod(object, 0o644);
  await Deno.writeTextFile(object, "garbage");
  await Deno.remove(p.path("model.json"));

  const status = await p.pivot("status", "--json");
  assertEquals(JSON.parse(status.stdout).stages[0].reasons, ["outs-missing"]);
  assertMatch(status.stderr, new RegExp(`cache object ${hash} is corrupt`));
  const repro = await p.events("repro");
  assertEquals(TempProject.byStatus(repro.events), { ran: ["train"] });
  assertEquals(await p.read("model.json"), original);
});

test("git checkout REV && pivot checkout brings the workspace to REV without --force", async () => {
  // model.json is ignored by git, as Pivot's .gitignore line makes it.
  await using p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "data.txt": "1\n",
    ".gitignore": "/model.json\n",
  });
  await p.initGit();
  assertEquals((await p.pivot("repro")).code, 0);
  await p.commitAll("one");
  const first = await p.read("model.json");
  await p.write("data.txt", "2\n");
  assertEquals((await p.pivot("repro")).code, 0);
  await p.commitAll("two");
  const second = await p.read("model.json");

  await p.git("checkout", "-q", "HEAD~1");
  const back = await p.pivot("checkout");
  assertEquals(back.code, 0, back.stderr);
  assertEquals(await p.read("model.json"), first);
  assertEquals((await p.status()).stages[0].status, "up-to-date");
  await p.git("checkout", "-q", "-");
  const forth = await p.pivot("checkout");
  assertEquals(forth.code, 0, forth.stderr);
  assertEquals(await p.read("model.json"), second);
});
