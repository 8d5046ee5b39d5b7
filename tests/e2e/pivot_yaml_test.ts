import { type PivotResult, TempProject } from "../_project.ts";
import { assert, assertEquals, assertMatch } from "../_assert.ts";
import { test } from "../_harness.ts";

function assertUsageError(result: PivotResult, pattern: RegExp): void {
  assertEquals(result.code, 2, result.stderr);
  const lines = result.stderr.trim().split("\n");
  assertEquals(lines.length, 1, `expected one line, got:\n${result.stderr}`);
  assertMatch(lines[0], pattern);
}

test("a pivot.yaml stage runs a plain exported function with loaders chosen by extension", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": `stages:
  prep:
    run: stages.ts#prep
    deps: { raw: data/raw.csv }
    outs: { clean: build/clean.json, note: build/note.txt }
    metrics: { counts: metrics.json }
    params: { scale: 2 }
`,
    "stages.ts": `export function prep(
  { raw }: { raw: { value: string }[] },
  { params }: { params: { scale: number } },
) {
  const clean = raw.map((row) => Number(row.value) * params.scale);
  return { clean, note: "rows: " + clean.length, counts: { rows: clean.length } };
}
`,
    "data/raw.csv": "value\n1\n2\n",
  });
  const first = await p.events("repro");
  assertEquals(first.result.code, 0, first.result.stderr);
  assertEquals(TempProject.byStatus(first.events), { ran: ["prep"] });
  assertEquals(JSON.parse(await p.read("build/clean.json")), [2, 4]);
  assertEquals(await p.read("build/note.txt"), "rows: 2");
  assertEquals(JSON.parse(await p.read("metrics.json")), { rows: 2 });
  assert(await p.exists(".pivot/stages/prep.lock"));
  const second = await p.events("repro");
  assertEquals(TempProject.byStatus(second.events), { skipped: ["prep"] });
});

test("a pivot.yaml stage runs a defineStage export with YAML paths and params", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": `stages:
  train:
    run: lib/stages.ts#train
    deps: { data: data/numbers.json }
    outs: { model: models/model.json }
    params: { factor: 3 }
`,
    "lib/stages.ts": `import { defineStage, dep, loaders, out } from "jsr:@pivot/core";
export const train = defineStage({
  deps: { data: dep("default.json", loaders.json<number[]>()) },
  outs: { model: out("model.json", loaders.json<{ sum: number }>()) },
  params: { factor: 1, offset: 0 },
  run: ({ data }, { params }) => ({
    model: { sum: data.reduce((a, b) => a + b, 0) * params.factor + params.offset },
  }),
});
`,
    "data/numbers.json": "[1, 2, 3]",
  });
  const { result, events } = await p.events("repro");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), { ran: ["train"] });
  // Paths are relative to pivot.yaml's directory, not to the module's.
  assertEquals(JSON.parse(await p.read("models/model.json")), { sum: 18 });
  const show = await p.pivot("params", "show", "--json");
  assertEquals(JSON.parse(show.stdout), { params: { train: { factor: 3, offset: 0 } } });
});

const MATRIX = `stages:
  train:
    run: stages.ts#train
    deps: { data: data/numbers.json }
    outs: { model: "models/\${model}_\${seed}.json" }
    params: { size: 0, seed: "\${seed}" }
    matrix:
      model:
        small: { params: { size: 1 } }
        large: { params: { size: 10 } }
      seed: [1, 2]
  report:
    run: stages.ts#report
    deps: { model: models/small_1.json }
    outs: { text: report.txt }
`;

const MATRIX_STAGES = `type Ctx<P> = { params: P; variant: string | undefined; stage: string };

export function train(
  { data }: { data: number[] },
  { params, variant, stage }: Ctx<{ size: number; seed: number }>,
) {
  return { model: { stage, variant, value: data.length * params.size + params.seed } };
}

export function report({ model }: { model: { value: number } }) {
  return { text: "value " + model.value };
}
`;

test("matrix variants write distinct outputs and 'train@*' runs them all, with ctx.variant", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": MATRIX,
    "stages.ts": MATRIX_STAGES,
    "data/numbers.json": "[1, 2, 3]",
  });
  const { result, events } = await p.events("repro", "train@*");
  assertEquals(result.code, 0, result.stderr);
  assertEquals(TempProject.byStatus(events), {
    ran: ["train@large_1", "train@large_2", "train@small_1", "train@small_2"],
  });
  assert(!(await p.exists("report.txt")));
  assertEquals(JSON.parse(await p.read("models/small_1.json")), {
    stage: "train@small_1",
    variant: "small_1",
    value: 4,
  });
  assertEquals(JSON.parse(await p.read("models/large_2.json")).value, 32);
  assertEquals(JSON.parse(await p.read("models/large_1.json")).variant, "large_1");
  assert(await p.exists(".pivot/stages/train@small_2.lock"));
});

test("list --json shows matrix variants with their variant names", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": MATRIX,
    "stages.ts": MATRIX_STAGES,
    "data/numbers.json": "[1, 2, 3]",
  });
  const result = await p.pivot("list", "--json");
  assertEquals(result.code, 0, result.stderr);
  const stages = JSON.parse(result.stdout).stages as {
    name: string;
    variant?: string;
    outs: string[];
  }[];
  assertEquals(stages.map((s) => [s.name, s.variant, s.outs]), [
    ["train@small_1", "small_1", ["models/small_1.json"]],
    ["train@small_2", "small_2", ["models/small_2.json"]],
    ["train@large_1", "large_1", ["models/large_1.json"]],
    ["train@large_2", "large_2", ["models/large_2.json"]],
    ["report", undefined, ["report.txt"]],
  ]);
});

test("an unknown ${var} in pivot.yaml is a one-line error naming the line", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": `stages:
  train:
    run: stages.ts#train
    outs: { model: "models/\${modle}.json" }
    matrix:
      model: [a, b]
`,
    "stages.ts": MATRIX_STAGES,
  });
  assertUsageError(
    await p.pivot("repro"),
    /^error: pivot\.yaml:4: stage 'train': out 'model': unknown variable '\$\{modle\}'.*did you mean '\$\{model\}'/,
  );
});

test("a run entry naming a missing export is a one-line error naming line, module and export", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": `stages:
  prep:
    run: stages.ts#train
  other:
    run: stages.ts#tarin
`,
    "stages.ts": MATRIX_STAGES,
  });
  assertUsageError(
    await p.pivot("list"),
    /^error: pivot\.yaml:5: stage 'other': stages\.ts has no export 'tarin': did you mean 'train'\?/,
  );
});

test("a run entry naming a missing module is a one-line error", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": "stages:\n  prep:\n    run: nowhere.ts#prep\n",
  });
  assertUsageError(
    await p.pivot("list"),
    /^error: pivot\.yaml:3: stage 'prep': cannot import nowhere\.ts: the file does not exist/,
  );
});

test("pivot.yaml and pipeline.ts in one directory is an error", async () => {
  await using p = await TempProject.create({
    "pivot.yaml": "stages:\n  prep:\n    run: stages.ts#prep\n",
    "pipeline.ts":
      `import { Pipeline } from "jsr:@pivot/core";\nexport const pipeline = new Pipeline("p");\n`,
  });
  assertUsageError(await p.pivot("repro"), /holds both pivot\.yaml and pipeline\.ts/);
});
