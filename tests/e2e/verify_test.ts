/**
 * `pivot verify`, the CI gate, through the real CLI: up-to-date stages and
 * restorable outs pass; a change, or an out nothing can restore, fails
 * with one line per problem; --allow-missing tolerates absent data only;
 * verify changes nothing.
 */

import { listTree, TempProject } from "../_project.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";
import { hashFile } from "../../lib/storage/hash.ts";

const PIPELINE = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("verify");

const FACTOR = 2;

pipeline.stage({
  name: "double",
  deps: { input: dep("input.txt", loaders.text()) },
  outs: { doubled: out("doubled.txt", loaders.text()) },
  run: ({ input }) => ({ doubled: String(Number(input) * FACTOR) }),
});

pipeline.stage({
  name: "report",
  deps: { doubled: dep("doubled.txt", loaders.text()) },
  outs: { report: out("report.txt", loaders.text()) },
  run: ({ doubled }) => ({ report: "value " + doubled }),
});
`;

async function verified(): Promise<TempProject> {
  const p = await TempProject.create({ "pipeline.ts": PIPELINE, "input.txt": "21" });
  try {
    const run = await p.pivot("repro");
    if (run.code !== 0) throw new Error(run.stderr);
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

async function problems(p: TempProject, ...args: string[]) {
  const result = await p.pivot("verify", "--json", ...args);
  const json = JSON.parse(result.stdout);
  assertEquals(result.code, json.ok ? 0 : 1, result.stderr);
  return json.problems as { stage?: string; path?: string; problem: string }[];
}

test("verify passes when every stage is up to date and every out restorable", async () => {
  await using p = await verified();
  const result = await p.pivot("verify");
  assertEquals([result.code, result.stdout], [
    0,
    "OK: 2 stages up to date, everything restorable.\n",
  ]);
  assertEquals(await problems(p), []);
  // An out missing from the workspace but in the cache is restorable.
  await Deno.remove(p.path("report.txt"));
  assertEquals(await problems(p), []);
  assertEquals(await p.exists("report.txt"), false, "verify restores nothing");
});

test("verify fails with one line per stage that would run, naming what changed", async () => {
  await using p = await verified();
  await p.edit("pipeline.ts", "const FACTOR = 2;", "const FACTOR = 3;");
  const before = await listTree(p.path(".pivot/stages"));
  const result = await p.pivot("verify");
  assertEquals(result.code, 1);
  assertEquals(result.stdout.trim().split("\n"), [
    "stage 'double': not up to date: code changed (const:FACTOR): run 'pivot repro double'",
    "stage 'report': not up to date: an upstream stage will run: run 'pivot repro report'",
  ]);
  assertEquals(await listTree(p.path(".pivot/stages")), before);
  // Only the named stages (and what they need) are checked.
  assertEquals((await problems(p, "double")).map((x) => x.stage), ["double"]);
  await p.edit("pipeline.ts", "const FACTOR = 3;", "const FACTOR = 2;");
  await p.write("input.txt", "5");
  assertMatch((await problems(p))[0].problem, /deps changed \(input\.txt\)/);
});

test("an out that nothing can restore fails verify; --allow-missing accepts absent data, not changes", async () => {
  await using p = await verified();
  await Deno.remove(p.path(".pivot/cache"), { recursive: true });
  // In the workspace but not in the cache: a teammate could not restore it.
  const notCached = await problems(p);
  assertEquals(notCached.map((x) => [x.stage, x.path]), [
    ["double", "doubled.txt"],
    ["report", "report.txt"],
  ]);
  assertMatch(notCached[0].problem, /in the workspace but not in the cache/);
  assertEquals(await problems(p, "--allow-missing"), []);

  // Gone from both (a fresh clone without the cache).
  await Deno.remove(p.path("doubled.txt"));
  await Deno.remove(p.path("report.txt"));
  const gone = await problems(p);
  assertMatch(gone[0].problem, /outs missing, and not in the cache/);
  const allowed = await p.pivot("verify", "--allow-missing");
  assertEquals([allowed.code, allowed.stdout], [0, "OK: 2 stages up to date, nothing changed.\n"]);
  await p.write("input.txt", "7");
  assertEquals((await problems(p, "--allow-missing")).map((x) => x.stage), ["double", "report"]);
});

test("outs in the workspace but not whole in the cache fail verify until 'pivot commit' stores them", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("verify_cache");

pipeline.stage({
  name: "split",
  outs: { parts: out("parts/") },
  run: (_deps, ctx) => {
    Deno.mkdirSync(ctx.outs.parts, { recursive: true });
    for (const n of [1, 2, 3]) Deno.writeTextFileSync(\`\${ctx.outs.parts}/p\${n}.txt\`, \`part \${n}\\n\`);
  },
});

pipeline.stage({
  name: "note",
  outs: { note: out("note.txt", loaders.text()) },
  run: () => ({ note: "a note\\n" }),
});
`,
  });
  assertEquals((await p.pivot("repro")).code, 0);
  assertEquals(await problems(p), []);
  // Objects gone from the cache (removed by hand, or moved aside as
  // corrupt): one file of the directory (its manifest stays) and the file
  // out's; the workspace is intact.
  const objectOf = (hash: string) =>
    p.path(`.pivot/cache/files/${hash.slice(0, 2)}/${hash.slice(2)}`);
  await Deno.remove(objectOf(await hashFile(p.path("parts/p2.txt"))));
  await Deno.remove(objectOf(await hashFile(p.path("note.txt"))));
  const found = await problems(p);
  assertEquals(found.map((x) => [x.stage, x.path]), [["split", "parts"], ["note", "note.txt"]]);
  assertMatch(found[0].problem, /in the workspace but not in the cache: 'pivot commit split'/);
  assertEquals(await problems(p, "--allow-missing"), []);

  // What verify advises works: commit stores what the cache lacks.
  const commit = await p.pivot("commit");
  assertEquals(
    [commit.code, commit.stdout],
    [0, "committed  split\ncommitted  note\n"],
    commit.stderr,
  );
  assertEquals(await problems(p), []);
  assertEquals((await p.pivot("commit")).stdout, "", "nothing left to store");
  await Deno.remove(p.path("parts"), { recursive: true });
  await Deno.remove(p.path("note.txt"));
  assertEquals((await p.pivot("checkout")).code, 0);
  assertEquals(await p.read("parts/p2.txt"), "part 2\n");
  assertEquals(await p.read("note.txt"), "a note\n");
});
