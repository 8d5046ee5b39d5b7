import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const CHAIN = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
import { shout } from "./helpers.ts";

export const pipeline = new Pipeline("chain");

pipeline.stage({
  name: "a",
  deps: { src: dep("data/input.txt", loaders.text()) },
  outs: { o: out("build/a.txt", loaders.text()) },
  run: ({ src }) => ({ o: shout(src.trim()) }),
});

pipeline.stage({
  name: "b",
  deps: { a: dep("build/a.txt", loaders.text()) },
  outs: { o: out("build/b.txt", loaders.text()) },
  run: stageB,
});

export function stageB({ a }: { a: string }) {
  return { o: a + "!" };
}

pipeline.stage({
  name: "c",
  deps: { b: dep("build/b.txt", loaders.text()) },
  outs: { o: out("build/c.txt", loaders.text()) },
  run: function stageC({ b }) {
    return { o: String(b.length) };
  },
});

pipeline.stage({
  name: "side",
  deps: { src: dep("data/other.txt", loaders.text()) },
  outs: { o: out("build/side.txt", loaders.text()) },
  run: ({ src }) => ({ o: src + src }),
});
`;

const HELPERS = `export function shout(text: string): string {
  return text.toUpperCase();
}
`;

async function chain(): Promise<TempProject> {
  return await TempProject.create({
    "pipeline.ts": CHAIN,
    "helpers.ts": HELPERS,
    "data/input.txt": "hello\n",
    "data/other.txt": "x",
  });
}

test("first repro runs every stage, the second runs none", async () => {
  await using p = await chain();
  const first = await p.events("repro");
  assertEquals(first.result.code, 0, first.result.stderr);
  assertEquals(TempProject.byStatus(first.events), { ran: ["a", "b", "c", "side"] });
  assertEquals(await p.read("build/c.txt"), "6");
  const summary = first.events.at(-1)!;
  assertEquals(summary.type, "summary");
  assertEquals([summary.ran, summary.skipped, summary.failed], [4, 0, 0]);
  // Every out is listed for git once its run is recorded (the lines are
  // written while the runs are recorded), and no staging area is left.
  const ignored = (await p.read("build/.gitignore")).split("\n").filter((l) => l !== "");
  assertEquals(ignored.toSorted(), ["/a.txt", "/b.txt", "/c.txt", "/side.txt"]);
  assertEquals(
    [...Deno.readDirSync(p.path(".pivot/tmp"))].filter((e) => e.name.startsWith("run-")),
    [],
  );

  const second = await p.events("repro");
  assertEquals(TempProject.byStatus(second.events), { skipped: ["a", "b", "c", "side"] });
});

test("editing one stage's function re-runs that stage only", async () => {
  await using p = await chain();
  await p.events("repro");
  await p.write("pipeline.ts", CHAIN.replace("o: src + src", "o: src + src + src"));
  const { events } = await p.events("repro");
  assertEquals(TempProject.byStatus(events), { ran: ["side"], skipped: ["a", "b", "c"] });
  assertEquals(await p.read("build/side.txt"), "xxx");
});

test("an upstream change with a byte-identical output does not re-run downstream", async () => {
  await using p = await chain();
  await p.events("repro");
  // "HELLO" shouts to the same text as "hello": a runs, its output is unchanged.
  await p.write("data/input.txt", "HELLO\n");
  const { events } = await p.events("repro");
  assertEquals(TempProject.byStatus(events), { ran: ["a"], skipped: ["b", "c", "side"] });
});

test("a deleted out is restored from the cache, not re-run", async () => {
  await using p = await chain();
  await p.events("repro");
  await Deno.remove(p.path("build/b.txt"));
  const { events } = await p.events("repro");
  assertEquals(TempProject.byStatus(events), { restored: ["b"], skipped: ["a", "c", "side"] });
  assertEquals(await p.read("build/b.txt"), "HELLO!");
});

test("a data edit re-runs exactly the stages downstream of it", async () => {
  await using p = await chain();
  await p.events("repro");
  await p.write("data/input.txt", "bye\n");
  const { events } = await p.events("repro");
  assertEquals(TempProject.byStatus(events), { ran: ["a", "b", "c"], skipped: ["side"] });
  assertEquals(await p.read("build/b.txt"), "BYE!");
});

test("repro STAGE runs it and its stale upstream, nothing else", async () => {
  await using p = await chain();
  const { events } = await p.events("repro", "b");
  assertEquals(TempProject.byStatus(events), { ran: ["a", "b"] });
  assert(!(await p.exists("build/c.txt")));
});

test("run STAGE runs exactly that stage", async () => {
  await using p = await chain();
  await p.events("repro");
  await p.write("data/input.txt", "bye\n");
  const { events } = await p.events("run", "b", "-f");
  assertEquals(TempProject.byStatus(events), { ran: ["b"] });
  // a did not run, so b consumed the old build/a.txt.
  assertEquals(await p.read("build/b.txt"), "HELLO!");
});

test("--force re-runs up-to-date stages", async () => {
  await using p = await chain();
  await p.events("repro");
  const { events } = await p.events("repro", "-f", "a");
  assertEquals(TempProject.byStatus(events), { ran: ["a"] });
  assertEquals(events.find((e) => e.stage === "a")?.reason, "forced");
});

test("--dry-run shows what would run and runs nothing", async () => {
  await using p = await chain();
  const result = await p.pivot("repro", "-n");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /a\s+will run\s+\(never-run\)/);
  assert(!(await p.exists("build/a.txt")));
  assert(!(await p.exists(".pivot/stages/a.lock")));
});

test("--no-commit runs without locks or cache; commit records the workspace", async () => {
  await using p = await chain();
  const { events } = await p.events("repro", "--no-commit");
  assertEquals(TempProject.byStatus(events), { ran: ["a", "b", "c", "side"] });
  assertEquals(await p.read("build/c.txt"), "6");
  assert(!(await p.exists(".pivot/stages/a.lock")));
  assert(!(await p.exists(".pivot/cache/files")));
  const kv = await Deno.openKv(p.path(".pivot/state/state.db"));
  try {
    const entries = await Array.fromAsync(kv.list({ prefix: [] }));
    assertEquals(entries.length, 0, "no state is written either");
  } finally {
    kv.close();
  }

  const commit = await p.pivot("commit");
  assertEquals(commit.code, 0, commit.stderr);
  assert(await p.exists(".pivot/stages/a.lock"));
  const after = await p.events("repro");
  assertEquals(TempProject.byStatus(after.events), { skipped: ["a", "b", "c", "side"] });
});

test("status --json reports never-run, then up-to-date, then upstream", async () => {
  await using p = await chain();
  const before = await p.status();
  assertEquals(before.stages.map((s) => [s.name, s.status, s.reasons]), [
    ["a", "will-run", ["never-run"]],
    ["b", "will-run", ["never-run", "upstream"]],
    ["c", "will-run", ["never-run", "upstream"]],
    ["side", "will-run", ["never-run"]],
  ]);
  await p.events("repro");
  const clean = await p.status();
  assert(clean.stages.every((s) => s.status === "up-to-date" && s.reasons.length === 0));
  await p.write("data/input.txt", "bye\n");
  const after = await p.status();
  assertEquals(after.stages.map((s) => [s.name, s.reasons]), [
    ["a", ["deps"]],
    ["b", ["upstream"]],
    ["c", ["upstream"]],
    ["side", []],
  ]);
  const deps = after.stages[0].changes.deps as { path: string; old: string; new: string }[];
  assertEquals(deps.map((d) => d.path), ["data/input.txt"]);
  assertMatch(deps[0].old, /^[0-9a-f]{16}$/);
  assert(deps[0].old !== deps[0].new);
});

test("a stage's console output is shown prefixed with its name", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("talk");
pipeline.stage({
  name: "talker",
  outs: { o: out("o.txt", loaders.text()) },
  run: () => { console.log("hello from", "talker", { n: 1 }); console.error("on stderr"); return { o: "x" }; },
});
`,
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertMatch(result.stdout, /\[talker\] hello from talker \{ n: 1 \}/);
  assertMatch(result.stderr, /\[talker\] on stderr/);
});

test("switching back to earlier inputs restores from the run cache", async () => {
  await using p = await chain();
  await p.events("repro");
  await p.write("data/other.txt", "y");
  const changed = await p.events("repro");
  assertEquals(TempProject.byStatus(changed.events).ran, ["side"]);
  await p.write("data/other.txt", "x");
  const back = await p.events("repro");
  assertEquals(TempProject.byStatus(back.events), {
    restored: ["side"],
    skipped: ["a", "b", "c"],
  });
  assertEquals(await p.read("build/side.txt"), "xx");
});
