/**
 * `pivot track`/`untrack` through the real CLI, and tracked data in the
 * other commands: a stage depends on it, `status` reports it changed,
 * `checkout` restores it, `data get` reads it at a revision, `gc` keeps it;
 * and a project of only tracked data, with no pipeline at all.
 */

import { parse } from "yaml";
import { tempDir, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("tracked");

pipeline.stage({
  name: "count",
  deps: { table: dep("data/raw.csv", loaders.csv()), images: dep("data/images/") },
  outs: { counts: out("counts.json", loaders.json()) },
  run: ({ table, images }) => ({
    counts: { rows: table.length, images: [...Deno.readDirSync(images)].length },
  }),
});
`;

async function trackedProject(): Promise<TempProject> {
  const p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    "data/raw.csv": "id,v\n1,a\n2,b\n",
    "data/images/a.txt": "image a\n",
    "data/images/b.txt": "image b\n",
  });
  try {
    await p.initGit();
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

/** The one error line of a failed command, after checking it is one line with exit code 2. */
function oneLineError(result: { code: number; stdout: string; stderr: string }): string {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  return lines[0];
}

test("track writes PATH.pvt (path, hash, size, files) and a .gitignore line, and caches the data", async () => {
  await using p = await trackedProject();
  const result = await p.pivot("track", "data/raw.csv", "data/images/");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /tracked +data\/raw\.csv +\(13 B\)/);
  assertMatch(result.stdout, /tracked +data\/images +\(16 B, 2 files\)/);
  assertMatch(
    result.stdout,
    /git add data\/raw\.csv\.pvt data\/\.gitignore data\/images\.pvt/,
  );
  const file = parse(await p.read("data/raw.csv.pvt"));
  assertEquals(Object.keys(file), ["path", "hash", "size"]);
  assertEquals([file.path, file.size], ["raw.csv", 13]);
  assertMatch(file.hash, /^[0-9a-f]{16}$/);
  const dir = parse(await p.read("data/images.pvt"));
  assertEquals([dir.path, dir.size, dir.files], ["images", 16, 2]);
  assertEquals(await p.read("data/.gitignore"), "/raw.csv\n/images\n");
  // git sees the records, not the data.
  await p.git("add", "-A");
  const staged = (await p.git("diff", "--cached", "--name-only")).split("\n");
  assert(staged.includes("data/raw.csv.pvt") && staged.includes("data/images.pvt"), staged.join());
  assert(!staged.some((path) => path === "data/raw.csv" || path.startsWith("data/images/")));
  // The content is in the cache: the directory's manifest and each file.
  const verify = await p.pivot("verify");
  assertEquals(verify.code, 1, "count has never run");
  assertMatch(verify.stdout, /^stage 'count': not up to date: never run/);

  // Tracking again: unchanged, or updated when the data changed.
  assertMatch((await p.pivot("track", "data/raw.csv")).stdout, /^unchanged +data\/raw\.csv/);
  await p.write("data/raw.csv", "id,v\n1,a\n2,b\n3,c\n");
  assertMatch(
    (await p.pivot("track", "data/raw.csv")).stdout,
    /^updated +data\/raw\.csv +\(17 B\)/,
  );
  assertEquals(parse(await p.read("data/raw.csv.pvt")).size, 17);
});

test("a stage depends on tracked data; status reports changed tracked data; checkout restores it", async () => {
  await using p = await trackedProject();
  assertEquals((await p.pivot("track", "data/raw.csv", "data/images")).code, 0);
  const run = await p.events("repro");
  assertEquals(TempProject.byStatus(run.events), { ran: ["count"] });
  assertEquals(JSON.parse(await p.read("counts.json")), { rows: 2, images: 2 });
  await p.commitAll("tracked data and a run");
  const ok = await p.pivot("verify");
  assertEquals([ok.code, ok.stdout], [
    0,
    "OK: 1 stage up to date and 2 tracked paths, everything restorable.\n",
  ]);
  const clean = await p.pivot("status", "--check");
  assertEquals(clean.code, 0, clean.stdout);

  await p.write("data/raw.csv", "id,v\n9,z\n");
  await Deno.remove(p.path("data/images/b.txt"));
  const status = await p.pivot("status", "--json");
  const tracked = JSON.parse(status.stdout).tracked;
  assertEquals(tracked.map((t: { path: string; status: string }) => [t.path, t.status]), [
    ["data/images", "modified"],
    ["data/raw.csv", "modified"],
  ]);
  const text = await p.pivot("status", "--check");
  assertEquals(text.code, 1);
  assertMatch(text.stdout, /Tracked data:\n {2}modified +data\/images/);
  const problems = await p.pivot("verify", "--json");
  assertEquals(problems.code, 1);
  assertEquals(
    JSON.parse(problems.stdout).problems.map((x: { path?: string; stage?: string }) =>
      x.path ?? x.stage
    ),
    ["count", "data/images", "data/raw.csv"],
  );

  // Modified data is kept unless --force; missing data is restored.
  const refused = await p.pivot("checkout", "data/raw.csv");
  assertEquals(refused.code, 1);
  assertMatch(refused.stderr, /data\/raw\.csv: modified since it was tracked; use --force/);
  const forced = await p.pivot("checkout", "--force");
  assertEquals(forced.code, 0, forced.stderr);
  assertEquals(await p.read("data/raw.csv"), "id,v\n1,a\n2,b\n");
  assertEquals(await p.read("data/images/b.txt"), "image b\n");
  assertEquals((await p.pivot("status", "--check")).code, 0);
  // Gone from the workspace (a fresh clone): still a dep, restored by checkout.
  await Deno.remove(p.path("data/raw.csv"));
  await Deno.remove(p.path("data/images"), { recursive: true });
  assertMatch((await p.pivot("status")).stdout, /missing +data\/images/);
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals(await p.read("data/images/a.txt"), "image a\n");
  assertEquals(TempProject.byStatus((await p.events("repro")).events), { skipped: ["count"] });
});

test("tracked data at a revision: data get and data diff read it from the cache; gc keeps it", async () => {
  await using p = await trackedProject();
  assertEquals((await p.pivot("track", "data/raw.csv")).code, 0);
  await p.commitAll("v1");
  await p.write("data/raw.csv", "id,v\n1,a\n2,B\n3,c\n");
  assertEquals((await p.pivot("track", "data/raw.csv")).code, 0);
  const diff = await p.pivot("data", "diff", "data/raw.csv", "--key", "id", "--json");
  assertEquals(diff.code, 0, diff.stderr);
  const rows = JSON.parse(diff.stdout);
  assertEquals(rows.added, [{ id: "3", v: "c" }]);
  assertEquals(rows.modified, [{ key: { id: "2" }, changes: { v: ["b", "B"] } }]);
  const got = await p.pivot("data", "get", "data/raw.csv", "--rev", "HEAD", "-o", "old.csv");
  assertEquals(got.code, 0, got.stderr);
  assertEquals(await p.read("old.csv"), "id,v\n1,a\n2,b\n");

  await new Promise((resolve) => setTimeout(resolve, 1_100));
  const gc = JSON.parse((await p.pivot("gc", "--json")).stdout);
  assertEquals(gc.objects, 1, "the version only HEAD refers to");
  assertEquals((await p.pivot("data", "get", "data/raw.csv", "-o", "gone.csv")).code, 2);
  // The workspace's version is kept, and still restorable.
  await Deno.remove(p.path("data/raw.csv"));
  assertEquals((await p.pivot("checkout", "data/raw.csv")).code, 0);
  assertEquals(await p.read("data/raw.csv"), "id,v\n1,a\n2,B\n3,c\n");
});

test("untrack removes the .pvt file and the .gitignore line; the data stays", async () => {
  await using p = await trackedProject();
  await p.write("data/.gitignore", "*.tmp\n");
  assertEquals((await p.pivot("track", "data/raw.csv")).code, 0);
  assertEquals(await p.read("data/.gitignore"), "*.tmp\n/raw.csv\n");
  const result = await p.pivot("untrack", "data/raw.csv.pvt");
  assertEquals([result.code, result.stdout], [0, "untracked  data/raw.csv\n"]);
  assert(!(await p.exists("data/raw.csv.pvt")));
  assertEquals(await p.read("data/.gitignore"), "*.tmp\n");
  assertEquals(await p.read("data/raw.csv"), "id,v\n1,a\n2,b\n");
});

test("track and untrack: bad input is one line with exit code 2", async () => {
  await using p = await trackedProject();
  assertEquals((await p.pivot("repro")).code, 0);
  assertMatch(oneLineError(await p.pivot("track", "nope.csv")), /'nope\.csv' does not exist/);
  assertMatch(
    oneLineError(await p.pivot("track", "counts.json")),
    /'counts\.json' is an out of stage 'count'/,
  );
  assertMatch(oneLineError(await p.pivot("track", ".pivot/config.yaml")), /inside \.pivot\//);
  assertMatch(oneLineError(await p.pivot("track", "..")), /outside the project/);
  assertMatch(oneLineError(await p.pivot("track")), /name the files or directories/);
  assertEquals((await p.pivot("track", "data/images")).code, 0);
  assertMatch(
    oneLineError(await p.pivot("track", "data/images/a.txt")),
    /overlaps tracked data 'data\/images'/,
  );
  assertMatch(oneLineError(await p.pivot("untrack", "data/raw.csv")), /is not tracked/);
  // A damaged .pvt file is named, with what is wrong.
  await p.write("data/images.pvt", "path: images\nhash: nothex\nsize: 1\n");
  assertMatch(
    oneLineError(await p.pivot("status")),
    /data\/images\.pvt: 'hash' must be 16 lowercase hex digits.*got "nothex"/,
  );
  await p.write("data/images.pvt", "path: images\nhash: 0123456789abcdef\n");
  assertMatch(oneLineError(await p.pivot("verify")), /data\/images\.pvt: 'size' is missing/);
  await p.write("data/images.pvt", "- just\n- a list\n");
  assertMatch(oneLineError(await p.pivot("gc")), /data\/images\.pvt: expected a mapping/);
});

test(
  "a project of only tracked data (no pipeline): status, verify, checkout, push and pull work on it",
  { timeLimit: 300_000 },
  async () => {
    await using share = await tempDir();
    await using p = await TempProject.create({
      "data/raw.csv": "id,v\n1,a\n",
      "data/images/a.txt": "image a\n",
    });
    await p.initGit();
    await p.write(".pivot/config.yaml", `remotes:\n  share: { url: "${share.root}" }\n`);
    // Neither a pipeline nor tracked data: refused as before, saying how to start.
    assertMatch(oneLineError(await p.pivot("checkout")), /no pipeline\.ts or pivot\.yaml/);

    assertEquals((await p.pivot("track", "data/raw.csv", "data/images")).code, 0);
    await p.commitAll();
    const clean = await p.pivot("status");
    assertEquals(clean.code, 0, clean.stderr);
    assertEquals(clean.stdout, "No stages; the 2 tracked paths are as recorded.\n");
    const verified = await p.pivot("verify");
    assertEquals(verified.code, 0, verified.stderr);
    assertMatch(verified.stdout, /^OK: no stages and 2 tracked paths, everything restorable\.$/m);

    // `git checkout` of another revision, as DVC users run `dvc checkout` after it.
    await Deno.remove(p.path("data/images"), { recursive: true });
    await p.write("data/raw.csv", "id,v\n1,edited\n");
    const changed = await p.pivot("status", "--json");
    assertEquals(changed.code, 0, changed.stderr);
    const { stages, tracked } = JSON.parse(changed.stdout);
    assertEquals(stages, []);
    assertEquals(
      (tracked as { path: string; status: string }[]).map((t) => [t.path, t.status]),
      [["data/images", "missing"], ["data/raw.csv", "modified"]],
    );
    const stale = await p.pivot("verify");
    assertEquals(stale.code, 1);
    assertMatch(stale.stdout, /^data\/raw\.csv: modified since it was tracked/m);
    const refused = await p.pivot("checkout");
    assertEquals(refused.code, 1, "the edit is not in the cache: it needs --force");
    assertMatch(refused.stderr, /data\/raw\.csv: modified since it was tracked; use --force/);
    assertMatch(refused.stdout, /^restored {2}data\/images$/m);
    assertEquals(await p.read("data/images/a.txt"), "image a\n");
    const forced = await p.pivot("checkout", "--force", "data/raw.csv");
    assertEquals(forced.code, 0, forced.stderr);
    assertEquals(await p.read("data/raw.csv"), "id,v\n1,a\n");

    // push, then a clone pulls the data and checks it out.
    const pushed = await p.pivot("push", "--json");
    assertEquals(pushed.code, 0, pushed.stderr);
    assertEquals(JSON.parse(pushed.stdout).failed, 0);
    await using holder = await tempDir();
    await p.git("clone", "-q", p.root, holder.path("b"));
    const b = new TempProject(holder.path("b"));
    assert(!(await b.exists("data/raw.csv")), "git holds only the .pvt files");
    const pulled = await b.pivot("pull");
    assertEquals(pulled.code, 0, pulled.stderr);
    assertEquals(await b.read("data/raw.csv"), "id,v\n1,a\n");
    assertEquals(await b.read("data/images/a.txt"), "image a\n");
    assertEquals((await b.pivot("verify")).code, 0);
  },
);

test("checkout does not look for .pvt files inside a stage's directory out", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("outs");

pipeline.stage({
  name: "make",
  outs: { gen: out("gen/") },
  run: (_, ctx) => {
    Deno.mkdirSync(\`\${ctx.outs.gen}/sub\`, { recursive: true });
    Deno.writeTextFileSync(\`\${ctx.outs.gen}/sub/a.txt\`, "a\\n");
  },
});
`,
    "data/raw.csv": "id\n1\n",
  });
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals((await p.pivot("track", "data/raw.csv")).code, 0);
  assertMatch(oneLineError(await p.pivot("track", "gen/sub/a.txt")), /an out of stage 'make'/);
  // The stage's out is its own whole: a `.pvt` file in it (a damaged one
  // here, which the walk would stop at) is not tracked data, and goes with
  // the out's restore.
  await p.write("gen/sub/b.txt.pvt", "- not\n- a record\n");
  await Deno.remove(p.path("data/raw.csv"));
  const result = await p.pivot("checkout", "--force");
  assertEquals([result.code, result.stderr], [0, ""]);
  assertEquals(result.stdout, "restored  gen\nrestored  data/raw.csv\n");
  assertEquals(await p.read("data/raw.csv"), "id\n1\n");
  assert(!(await p.exists("gen/sub/b.txt.pvt")));
});
