/**
 * `pivot metrics show|diff` through the real CLI: formats, flattening,
 * revisions read through lock files and the cache (or git), every pipeline
 * of a project, and bad input.
 */

import { runPivot, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

const PIPELINE = `import { loaders, metric, out, Pipeline } from "jsr:@pivot/core";

export const pipeline = new Pipeline("metrics");

pipeline.stage({
  name: "train",
  params: { lr: 0.1, label: "base" },
  outs: {
    scores: metric("metrics.json"),
    evaluation: metric("eval/scores.json"),
    table: out("table.csv", loaders.csv()),
  },
  run: (_deps, { params }) => ({
    scores: { acc: params.lr * 9, train: { loss: 0.5 - params.lr }, label: params.label },
    evaluation: { f1: params.lr * 4 },
    table: [{ precision: params.lr * 2, recall: 0.5 }],
  }),
});
`;

/** The project in git with its first run committed; metric files are ignored by git. */
async function metricsProject(ignoreMetrics = true): Promise<TempProject> {
  const p = await TempProject.create({
    "pipeline.ts": PIPELINE,
    ".gitignore": (ignoreMetrics ? ["metrics.json", "eval/", "table.csv"] : ["table.csv"])
      .join("\n") + "\n",
  });
  try {
    await p.initGit();
    const run = await p.pivot("repro");
    if (run.code !== 0) throw new Error(`repro failed: ${run.stderr}`);
    await p.commitAll("first run");
    return p;
  } catch (error) {
    await p.dispose();
    throw error;
  }
}

async function rerun(p: TempProject, lr: number, label = "base"): Promise<void> {
  await p.write("params.yaml", `train:\n  lr: ${lr}\n  label: ${label}\n`);
  const run = await p.pivot("repro");
  if (run.code !== 0) throw new Error(`repro failed: ${run.stderr}`);
}

async function json(p: TempProject, ...args: string[]) {
  const result = await p.pivot("metrics", ...args, "--json");
  assertEquals(result.code, 0, result.stderr);
  return { ...JSON.parse(result.stdout), stderr: result.stderr };
}

/** The one error line of a failed command, after checking it is one line with exit code 2. */
function oneLineError(result: { code: number; stdout: string; stderr: string }): string {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, result.stderr);
  return lines[0];
}

test("metrics show --json flattens every declared metric to dotted keys", async () => {
  await using p = await metricsProject();
  const shown = await json(p, "show");
  assertEquals(shown.metrics, {
    "metrics.json": { acc: 0.9, "train.loss": 0.4, label: "base" },
    "eval/scores.json": { f1: 0.4 },
  });
});

test("metrics show prints a table per file, in Markdown with --md, rounded with --precision", async () => {
  await using p = await metricsProject();
  const text = await p.pivot("metrics", "show");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(
    text.stdout,
    [
      "metrics.json",
      "Key         Value",
      "acc         0.9",
      "train.loss  0.4",
      "label       base",
      "",
      "eval/scores.json",
      "Key  Value",
      "f1   0.4",
      "",
    ].join("\n"),
  );
  await rerun(p, 0.123456);
  const md = await p.pivot("metrics", "show", "metrics.json", "--md", "--precision", "2");
  assertEquals(md.code, 0, md.stderr);
  assertEquals(
    md.stdout,
    [
      "**metrics.json**",
      "",
      "| Key | Value |",
      "| --- | --- |",
      "| acc | 1.11 |",
      "| train.loss | 0.38 |",
      "| label | base |",
      "",
    ].join("\n"),
  );
});

test("metrics show reads YAML, one-row CSV and TSV files named as targets", async () => {
  await using p = await metricsProject();
  await p.write("extra.yaml", "model:\n  depth: 3\n  name: tree\nscore: 0.75\n");
  await p.write("one.tsv", "precision\trecall\n0.5\t0.25\n");
  const shown = await json(p, "show", "extra.yaml", "table.csv", "one.tsv");
  assertEquals(shown.metrics, {
    "extra.yaml": { "model.depth": 3, "model.name": "tree", score: 0.75 },
    "table.csv": { precision: 0.2, recall: 0.5 },
    "one.tsv": { precision: 0.5, recall: 0.25 },
  });
  // A stage name selects its metrics; a directory the metrics inside it.
  assertEquals(Object.keys((await json(p, "show", "train")).metrics), [
    "metrics.json",
    "eval/scores.json",
  ]);
  assertEquals(Object.keys((await json(p, "show", "eval")).metrics), ["eval/scores.json"]);
});

test("metrics diff compares HEAD, read from its lock files and the cache, with the workspace", async () => {
  await using p = await metricsProject();
  await rerun(p, 0.2, "wide");
  const gitStatus = await p.git("status", "--porcelain");
  const index = await Deno.readFile(p.path(".git/index"));

  const diff = await json(p, "diff");
  assertEquals(diff.diff, [
    { path: "metrics.json", key: "acc", old: 0.9, new: 1.8, change: 0.9 },
    { path: "metrics.json", key: "train.loss", old: 0.4, new: 0.3, change: -0.1 },
    { path: "metrics.json", key: "label", old: "base", new: "wide", change: null },
    { path: "eval/scores.json", key: "f1", old: 0.4, new: 0.8, change: 0.4 },
  ]);
  // Reading a revision changes neither the workspace nor the index.
  assertEquals(await p.git("status", "--porcelain"), gitStatus);
  assertEquals(await Deno.readFile(p.path(".git/index")), index);
  assertEquals(JSON.parse(await p.read("metrics.json")).acc, 1.8);

  const text = await p.pivot("metrics", "diff", "eval/scores.json");
  assertEquals(text.code, 0, text.stderr);
  assertEquals(
    text.stdout,
    "Path              Key  HEAD  workspace  Change\neval/scores.json  f1   0.4   0.8        +0.4\n",
  );
  // --all lists unchanged keys too; nothing changed is said so.
  await rerun(p, 0.1, "base");
  assertEquals((await json(p, "diff")).diff, []);
  assertEquals((await p.pivot("metrics", "diff")).stdout, "No metric changes.\n");
  assertEquals((await json(p, "diff", "--all")).diff.length, 4);
});

test("metrics diff --rev A --rev B compares two commits; --rev A compares A with the workspace", async () => {
  await using p = await metricsProject();
  const first = await p.git("rev-parse", "HEAD");
  await rerun(p, 0.25);
  await p.commitAll("second run");
  await rerun(p, 0.4);

  const between = await json(p, "diff", "--rev", first, "--rev", "HEAD", "metrics.json");
  assertEquals(
    between.diff.map((row: { key: string; old: number; new: number }) => [
      row.key,
      row.old,
      row.new,
    ]),
    [["acc", 0.9, 2.25], ["train.loss", 0.4, 0.25]],
  );
  const sinceFirst = await json(p, "diff", "--rev", first, "eval/scores.json");
  assertEquals(sinceFirst.diff, [
    { path: "eval/scores.json", key: "f1", old: 0.4, new: 1.6, change: 1.2 },
  ]);
});

test("metrics diff takes a committed metric from git when the cache lacks it, and warns when neither has it", async () => {
  await using p = await metricsProject(false);
  await Deno.remove(p.path(".pivot/cache"), { recursive: true });
  await rerun(p, 0.2);
  const diff = await json(p, "diff", "eval/scores.json");
  assertEquals(diff.diff, [{
    path: "eval/scores.json",
    key: "f1",
    old: 0.4,
    new: 0.8,
    change: 0.4,
  }]);

  // Ignored by git and gone from the cache: the old side is missing, and said so.
  await using q = await metricsProject(true);
  await Deno.remove(q.path(".pivot/cache"), { recursive: true });
  const missing = await q.pivot("metrics", "diff", "eval/scores.json", "--json");
  assertEquals(missing.code, 0, missing.stderr);
  assertEquals(JSON.parse(missing.stdout).diff, [
    { path: "eval/scores.json", key: "f1", old: null, new: 0.4, change: null },
  ]);
  assert(missing.stderr === "", "a file found on one side is a diff row, not a warning");
});

test("metrics show and diff cover every pipeline of the project, wherever they run", async () => {
  await using p = await TempProject.create({
    "a/pivot.yaml": `stages:
  count:
    run: stages.ts#count
    outs: { counts: counts.json }
    metrics: { summary: summary.json }
`,
    "a/stages.ts": `export function count() {
  return { counts: [1, 2], summary: { rows: 2 } };
}
`,
    "b/pipeline.ts": PIPELINE,
    ".gitignore": "table.csv\n",
  });
  await p.initGit();
  for (const dir of ["a", "b"]) {
    const run = await runPivot(p.path(dir), ["repro"]);
    assertEquals(run.code, 0, run.stderr);
  }
  await p.commitAll("both");
  const fromB = await runPivot(p.path("b"), ["metrics", "show", "--json"]);
  assertEquals(fromB.code, 0, fromB.stderr);
  assertEquals(Object.keys(JSON.parse(fromB.stdout).metrics).sort(), [
    "a/summary.json",
    "b/eval/scores.json",
    "b/metrics.json",
  ]);
  await p.write("a/stages.ts", (await p.read("a/stages.ts")).replace("rows: 2", "rows: 3"));
  assertEquals((await runPivot(p.path("a"), ["repro"])).code, 0);
  const diff = await runPivot(p.path("b"), ["metrics", "diff", "--json"]);
  assertEquals(diff.code, 0, diff.stderr);
  assertEquals(JSON.parse(diff.stdout).diff, [
    { path: "a/summary.json", key: "rows", old: 2, new: 3, change: 1 },
  ]);
});

test("metrics: bad input is one line with exit code 2", async () => {
  await using p = await metricsProject();
  assertMatch(
    oneLineError(await p.pivot("metrics", "diff", "--rev", "no-such-rev")),
    /unknown git revision 'no-such-rev'/,
  );
  await p.write("notes.txt", "just words, not: [a mapping\n");
  assertMatch(
    oneLineError(await p.pivot("metrics", "show", "notes.txt")),
    /notes\.txt: not a metric file: metrics are JSON/,
  );
  await p.write("broken.json", "{ nope");
  assertMatch(
    oneLineError(await p.pivot("metrics", "show", "broken.json")),
    /broken\.json: not valid JSON/,
  );
  await p.write("rows.csv", "a,b\n1,2\n3,4\n");
  assertMatch(oneLineError(await p.pivot("metrics", "show", "rows.csv")), /holds 2 rows/);
  await p.write("list.json", "[1, 2]");
  assertMatch(oneLineError(await p.pivot("metrics", "show", "list.json")), /expected a mapping/);
  assertMatch(oneLineError(await p.pivot("metrics", "show", "nothing-here")), /neither a metric/);
  assertMatch(oneLineError(await p.pivot("metrics", "show", "--rev", "HEAD")), /diff' only/);
  assertMatch(oneLineError(await p.pivot("metrics", "show", "--precision", "x")), /--precision/);
  assertMatch(oneLineError(await p.pivot("metrics", "frob")), /unknown subcommand 'frob'/);
});

test("metrics diff A B (DVC's positional revisions) is one line pointing at --rev", async () => {
  await using p = await metricsProject();
  await rerun(p, 0.25);
  await p.commitAll("second run");
  const error = oneLineError(await p.pivot("metrics", "diff", "HEAD~1", "HEAD"));
  assertMatch(
    error,
    /'HEAD~1' is a git revision, not a metric file or stage: compare revisions with --rev \(pivot metrics diff --rev HEAD~1 --rev HEAD\)/,
  );
  // A metric file given as a target is still a target.
  assertEquals((await json(p, "diff", "metrics.json")).diff, []);
});
