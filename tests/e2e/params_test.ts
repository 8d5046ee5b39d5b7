import { TempProject } from "../_project.ts";
import { assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const HEADER = `import { loaders, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("two");
`;

const STAGE_A = `
pipeline.stage({
  name: "a",
  outs: { o: out("a.json", loaders.json<number>()) },
  params: { n: 1 },
  run: (_deps, { params }) => ({ o: params.n }),
});
`;

const STAGE_B = `
pipeline.stage({
  name: "b",
  outs: { o: out("b.json", loaders.json<number>()) },
  params: { n: 1, opt: { lr: 0.5 } },
  run: (_deps, { params }) => ({ o: params.n * params.opt.lr }),
});
`;

const TWO_STAGES = HEADER + STAGE_A + STAGE_B;

test("a params.yaml override re-runs exactly the stage it names", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TWO_STAGES });
  await p.events("repro");
  await p.write("params.yaml", "b:\n  n: 4\n");
  const explain = await p.pivot("status", "--explain");
  assertEquals(explain.code, 0, explain.stderr);
  assertMatch(explain.stdout, /Stage: b\n\s+Status: WILL RUN\n\s+Reasons: params/);
  assertMatch(explain.stdout, /n: 1 -> 4/);
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), { ran: ["b"], skipped: ["a"] });
  assertEquals(events.find((e) => e.stage === "b")?.reason, "params");
  assertEquals(JSON.parse(await p.read("b.json")), 2);
});

test("a Standard Schema violation in params.yaml is a one-line error naming stage and key", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { z } from "zod";
export const pipeline = new Pipeline("schema");
pipeline.stage({
  name: "train",
  outs: { o: out("o.json", loaders.json<number>()) },
  params: z.object({ lr: z.number().positive().default(0.1), epochs: z.number().int().default(3) }),
  run: (_deps, { params }) => ({ o: params.lr * params.epochs }),
});
`,
    "params.yaml": "train:\n  lr: fast\n",
  }, { imports: { zod: "npm:zod@4.6.7" } });
  const result = await p.pivot("repro");
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  assertMatch(lines[0], /^error: params\.yaml: stage 'train': param 'lr': .*number/i);

  await p.write("params.yaml", "train:\n  lr: 0.5\n");
  const ok = await p.pivot("repro");
  assertEquals(ok.code, 0, ok.stderr);
  assertEquals(JSON.parse(await p.read("o.json")), 1.5);
});

test("params show lists each stage's resolved params as a table, Markdown or JSON", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": TWO_STAGES,
    "params.yaml": "a: { n: 2 }\n",
  });
  const text = await p.pivot("params", "show");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(text.stdout.split("\n").map((line) => line.split(/\s+/).join(" ")), [
    "Stage Key Value",
    "a n 2",
    "b n 1",
    "b opt.lr 0.5",
    "",
  ]);
  const json = await p.pivot("params", "show", "b", "--json");
  assertEquals(JSON.parse(json.stdout), { params: { b: { n: 1, opt: { lr: 0.5 } } } });
  const md = await p.pivot("params", "show", "a", "--md");
  assertEquals(md.stdout, "| Stage | Key | Value |\n| --- | --- | --- |\n| a | n | 2 |\n");
});

test("params with a bad subcommand or option is a usage error", async () => {
  await using p = await TempProject.create({ "pipeline.ts": TWO_STAGES });
  for (
    const args of [
      ["params"],
      ["params", "shwo"],
      ["params", "show", "--rev", "HEAD"],
      ["params", "diff", "--json", "--md"],
      ["params", "diff", "--precision", "x"],
    ]
  ) {
    const result = await p.pivot(...args);
    assertEquals(result.code, 2, `${args.join(" ")}: ${result.stderr}`);
    assertEquals(result.stderr.trim().split("\n").length, 1, result.stderr);
  }
});

async function gitProject(): Promise<TempProject> {
  const p = await TempProject.create({ "pipeline.ts": TWO_STAGES, "params.yaml": "b: { n: 2 }\n" });
  await p.initGit();
  return p;
}

test("params diff compares with params.yaml at HEAD when no lock files are committed", async () => {
  await using p = await gitProject();
  await p.commitAll("state");
  const clean = await p.pivot("params", "diff");
  assertEquals([clean.code, clean.stdout], [0, "No param changes.\n"], clean.stderr);

  await p.write("params.yaml", "b: { n: 3, opt: { lr: 0.25 } }\n");
  const text = await p.pivot("params", "diff");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(text.stdout.split("\n").map((line) => line.split(/\s+/).join(" ")), [
    "Stage Key Old New Change",
    "b n 2 3 modified",
    "b opt.lr 0.5 0.25 modified",
    "",
  ]);
  const json = await p.pivot("params", "diff", "--json", "--precision", "1");
  assertEquals(JSON.parse(json.stdout), {
    diff: [
      { stage: "b", key: "n", old: 2, new: 3, change: "modified" },
      { stage: "b", key: "opt.lr", old: 0.5, new: 0.3, change: "modified" },
    ],
  });
});

test("params diff compares with the params the committed lock files recorded", async () => {
  await using p = await gitProject();
  await p.events("repro");
  await p.commitAll("state");
  // Change code defaults and params.yaml, and remove stage a (and its lock file).
  await p.write(
    "pipeline.ts",
    HEADER + STAGE_B.replace("opt: { lr: 0.5 }", "opt: { lr: 0.1 }"),
  );
  await p.write("params.yaml", "b: { n: 5 }\n");
  await Deno.remove(p.path(".pivot/stages/a.lock"));
  const json = await p.pivot("params", "diff", "--json");
  assertEquals(json.code, 0, json.stderr);
  assertEquals(JSON.parse(json.stdout), {
    diff: [
      { stage: "b", key: "n", old: 2, new: 5, change: "modified" },
      { stage: "b", key: "opt.lr", old: 0.5, new: 0.1, change: "modified" },
      { stage: "a", key: "n", old: 1, new: null, change: "removed" },
    ],
  });

  // Run and commit: HEAD's locks now match; the previous commit still differs.
  await p.events("repro");
  await p.commitAll("state");
  const clean = await p.pivot("params", "diff", "--json");
  assertEquals(JSON.parse(clean.stdout), { diff: [] }, clean.stderr);
  const previous = await p.pivot("params", "diff", "--rev", "HEAD~1", "b", "--json");
  assertEquals(JSON.parse(previous.stdout).diff.map((d: { key: string }) => d.key), [
    "n",
    "opt.lr",
  ]);
  const unknown = await p.pivot("params", "diff", "--rev", "nope");
  assertEquals(unknown.code, 2);
  assertMatch(unknown.stderr, /unknown git revision 'nope'/);
});
