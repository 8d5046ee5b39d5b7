/**
 * Errors that point at their cause (issue 10, items 15-17 and 19): the
 * module at fault in a load error, the dep and loader in a loader mismatch,
 * a mistyped stage in params.yaml, and the smaller ones: blocked stages
 * listed once, `repro -f`'s help, `-V`, unknown commands, imports a stage
 * may not read, and stage output without a trailing newline.
 */

import { TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch, assertNotMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

/** A pipeline error: exit 2, exactly one line on stderr, no stack trace. */
function assertOneLine(result: { code: number; stderr: string }, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assertMatch(lines[0], pattern);
}

const WITH_HELPER = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { score } from "./lib/model.ts";

export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  outs: { model: out("model.json", loaders.json()) },
  run: () => ({ model: { score: score() } }),
});
`;

test("a syntax error in an imported module names that module's file:line:col, not the pipeline", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": WITH_HELPER,
    "lib/model.ts": "// the model\nexport function score() {\n  return 1 +;\n}\n",
  });
  const result = await p.pivot("status");
  assertOneLine(
    result,
    /^error: lib\/model\.ts:3:13: SyntaxError: Expression expected \(while loading pipeline\.ts\)$/,
  );
});

test("an import of a missing file names the importing line and the missing file", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": WITH_HELPER,
    "lib/model.ts": 'import { w } from "./weights.ts";\nexport const score = () => w;\n',
  });
  assertOneLine(
    await p.pivot("repro"),
    /^error: lib\/model\.ts:1:19: imports lib\/weights\.ts, which does not exist \(while loading pipeline\.ts\)$/,
  );
});

test("an error thrown while a helper module is evaluated names its line", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": WITH_HELPER,
    "lib/model.ts": 'export const score = () => 1;\nthrow new Error("no GPU");\n',
  });
  assertOneLine(
    await p.pivot("list"),
    /^error: lib\/model\.ts:2:7: Error: no GPU \(while loading pipeline\.ts\)$/,
  );
});

test("a syntax error in the pipeline file itself names its line", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": WITH_HELPER + "pipeline.stage({ name: });\n",
    "lib/model.ts": "export const score = () => 1;\n",
  });
  assertOneLine(await p.pivot("status"), /^error: pipeline\.ts:10:\d+: SyntaxError: /);
});

test("a loader that does not fit its dep names the stage, the dep, its path and the loader", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  deps: { rows: dep("data/rows.json", loaders.jsonl()) },
  outs: { model: out("model.json", loaders.json()) },
  run: ({ rows }) => ({ model: rows.length }),
});
`,
    "data/rows.json": '{\n  "rows": [1, 2]\n}\n',
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 1, result.stderr);
  assertMatch(
    result.stderr,
    /FAILED\s+train: stage 'train': could not load dep 'rows' \(data\/rows\.json\) with loaders\.jsonl\(\): SyntaxError: line 1: .*does the loader match the file's format\?/,
  );
});

const PARAMS = `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "train",
  params: { epochs: 10 },
  outs: { model: out("model.json", loaders.json()) },
  run: (_deps, { params }) => ({ model: params }),
});
pipeline.stage({
  name: "evaluate",
  outs: { score: out("score.json", loaders.json()) },
  run: () => ({ score: 1 }),
});
`;

test("a mistyped stage name in params.yaml is an error naming its line, with a did-you-mean", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PARAMS,
    "params.yaml": "# overrides\ntrian:\n  epochs: 20\n",
  });
  for (const command of ["status", "repro"]) {
    assertOneLine(
      await p.pivot(command),
      /^error: params\.yaml:2: 'trian' is not a stage of this project \(did you mean 'train'\?\): rename the entry or remove it$/,
    );
  }
  assert(!(await p.exists("model.json")), "nothing ran");
  await p.write("params.yaml", "train:\n  epochs: 20\n");
  const fixed = await p.pivot("repro");
  assertEquals(fixed.code, 0, fixed.stderr);
  assertEquals(JSON.parse(await p.read("model.json")), { epochs: 20 });
});

test("a params.yaml entry for a stage of another pipeline of the project is not an error", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": PARAMS,
    "other/pipeline.ts": PARAMS.replace('"p"', '"other"').replace('"train"', '"fit"')
      .replaceAll('"model.json"', '"fit.json"').replace('"score.json"', '"other_score.json"'),
    "params.yaml": "train:\n  epochs: 2\nfit:\n  epochs: 3\n",
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(JSON.parse(await p.read("model.json")), { epochs: 2 });
});

const FAILING_DIAMOND = `import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "prepare",
  outs: { o: out("prepared.txt", loaders.text()) },
  run: () => { throw new Error("no data"); },
});
pipeline.stage({
  name: "features",
  deps: { p: dep("prepared.txt", loaders.text()) },
  outs: { o: out("features.txt", loaders.text()) },
  run: ({ p }) => ({ o: p }),
});
pipeline.stage({
  name: "train",
  deps: { p: dep("prepared.txt", loaders.text()), f: dep("features.txt", loaders.text()) },
  outs: { o: out("model.txt", loaders.text()) },
  run: ({ p, f }) => ({ o: p + f }),
});
`;

test("a stage below a failure by two paths is listed as blocked once", async () => {
  await using p = await TempProject.create({ "pipeline.ts": FAILING_DIAMOND });
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 1);
  const stages = events.filter((e) => e.type === "stage").map((e) => `${e.stage}:${e.status}`);
  assertEquals(stages.sort(), ["features:blocked", "prepare:failed", "train:blocked"]);
  assertEquals(events.at(-1)?.blocked, 2);
  const human = await p.pivot("repro");
  assertEquals(human.stdout.match(/blocked\s+train/g)?.length, 1, human.stdout);
});

test("repro's help says -f forces the upstream stages too", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PARAMS });
  const help = await p.pivot("repro", "--help");
  assertEquals(help.code, 0);
  assertMatch(
    help.stdout,
    /-f, --force\s+run the selected stages and every stage upstream of them/,
  );
});

test("-V prints the version, and an unknown global option points at 'pivot --help'", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PARAMS });
  const version = await p.pivot("-V");
  assertEquals([version.code, version.stdout.trim()], [
    0,
    (await p.pivot("--version")).stdout.trim(),
  ]);
  assertOneLine(await p.pivot("-X"), /^error: unknown option '-X': see 'pivot --help'$/);
});

test("an unknown command gets a did-you-mean", async () => {
  await using p = await TempProject.create({ "pipeline.ts": PARAMS });
  assertOneLine(
    await p.pivot("stauts"),
    /^error: unknown command 'stauts': did you mean 'status'\?$/,
  );
  assertOneLine(
    await p.pivot("frobnicate"),
    /^error: unknown command 'frobnicate': run 'pivot --help' for the list$/,
  );
});

test("a module imported at run time that Pivot did not see is reported without Deno's --allow-read advice", async () => {
  await using outside = await TempProject.create({ "helper.ts": "export const v = 41;\n" }, {
    init: false,
  });
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "computed",
  outs: { o: out("o.json", loaders.json()) },
  run: async () => {
    const where = ${JSON.stringify(outside.path("helper.ts"))};
    const { v } = await import(where);
    return { o: v + 1 };
  },
});
`,
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 1, result.stderr);
  assertNotMatch(result.stderr, /--allow-read|run again/);
  assertMatch(
    result.stderr,
    new RegExp(
      `stage 'computed' imported '${
        outside.path("helper.ts")
      }', outside the project, which Pivot cannot see in the pipeline's imports: import it with a literal specifier .* or declare it in the stage's permissions\\.read`,
    ),
  );
});

test("stage output keeps its [stage] prefix without a trailing newline, from any kind of write", async () => {
  await using p = await TempProject.create({
    "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import process from "node:process";
export const pipeline = new Pipeline("p");
pipeline.stage({
  name: "talk",
  outs: { o: out("o.txt", loaders.text()) },
  run: async () => {
    console.log("two\\nlines");
    await Deno.stdout.write(new TextEncoder().encode("progress 50%"));
    process.stdout.write(" 100%\\n");
    process.stderr.write("no newline at the end");
    return { o: "done" };
  },
});
`,
  });
  const result = await p.pivot("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(
    result.stdout.split("\n").filter((line) => line.startsWith("[talk]")),
    ["[talk] two", "[talk] lines", "[talk] progress 50% 100%"],
  );
  assertMatch(result.stderr, /^\[talk\] no newline at the end$/m);
  assertNotMatch(result.stdout, /^(progress|lines)/m);
});
