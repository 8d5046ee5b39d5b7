import { join } from "node:path";
import {
  parsePivotYaml,
  type PivotYamlFile,
  type PivotYamlStage,
} from "../../lib/pipeline/pivot_yaml.ts";
import { assertEquals, assertPivotError, assertRejects } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

const SPEC_EXAMPLE = `stages:
  train:
    run: stages.ts#train
    deps: { data: "data/\${dataset}.json" }
    outs: { model: "models/\${model}_\${dataset}.json" }
    params: { epochs: 10 }
    matrix:
      model:
        small: { params: { epochs: 5 } }
        large: { params: { epochs: 50 } }
      dataset: [train, test]
`;

/** `parsed` with its function stages only (these tests have no command stages). */
function functionStages(parsed: PivotYamlFile) {
  return {
    ...parsed,
    stages: parsed.stages.filter((stage): stage is PivotYamlStage => stage.kind !== "command"),
  };
}

/** Read and parse `file`, as the YAML pipeline loader does. */
async function loadPivotYaml(file: string) {
  return functionStages(parsePivotYaml(await Deno.readTextFile(file), file));
}

function parse(text: string) {
  return functionStages(parsePivotYaml(text, "/project/pivot.yaml"));
}

/** The one-line PivotError message that parsing `text` throws. */
function errorOf(text: string): Promise<string> {
  return assertPivotError(() => parse(text));
}

function stageYaml(body: string, name = "train"): string {
  return `stages:\n  ${name}:\n    run: stages.ts#${name}\n${body}`;
}

// --- expansion ---

test("the SPEC §7 example expands to four variants with substituted paths and params", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  await Deno.writeTextFile(join(dir, "pivot.yaml"), SPEC_EXAMPLE);
  const parsed = await loadPivotYaml(join(dir, "pivot.yaml"));
  assertEquals(parsed.dir, dir);
  assertEquals(
    parsed.stages.map((s) => [s.name, s.variant, s.deps.data, s.outs.model, s.params.epochs]),
    [
      ["train@small_train", "small_train", "data/train.json", "models/small_train.json", 5],
      ["train@small_test", "small_test", "data/test.json", "models/small_test.json", 5],
      ["train@large_train", "large_train", "data/train.json", "models/large_train.json", 50],
      ["train@large_test", "large_test", "data/test.json", "models/large_test.json", 50],
    ],
  );
});

test("a variant records its base name, matrix values and run function", () => {
  const stage = parse(SPEC_EXAMPLE).stages[1];
  assertEquals(stage.baseName, "train");
  assertEquals(stage.matrixValues, { model: "small", dataset: "test" });
  assertEquals(stage.run, {
    module: "/project/stages.ts",
    moduleUrl: "file:///project/stages.ts",
    exportName: "train",
  });
  assertEquals(stage.where, "pivot.yaml:3");
});

test("a stage without a matrix keeps its name and relative paths", () => {
  const parsed = parse(stageYaml(
    "    deps: { raw: ../data/raw.csv }\n    outs: { clean: out/clean.json }\n" +
      "    metrics: { scores: metrics.json }\n    plots: { curve: plots/curve.csv }\n" +
      "    mutex: [gpu]\n",
    "prep",
  ));
  assertEquals(parsed.stages, [{
    name: "prep",
    baseName: "prep",
    variant: undefined,
    run: {
      module: "/project/stages.ts",
      moduleUrl: "file:///project/stages.ts",
      exportName: "prep",
    },
    deps: { raw: "../data/raw.csv" },
    outs: { clean: "out/clean.json" },
    metrics: { scores: "metrics.json" },
    plots: { curve: "plots/curve.csv" },
    params: {},
    mutex: ["gpu"],
    matrixValues: {},
    where: "pivot.yaml:3",
  }]);
});

test("stages keep declaration order and the top-level pipeline name", () => {
  const parsed = parse(
    "pipeline: demo\nstages:\n  b: { run: s.ts#b }\n  a: { run: s.ts#a }\n  '2': { run: s.ts#c }\n",
  );
  assertEquals(parsed.name, "demo");
  assertEquals(parsed.stages.map((s) => s.name), ["b", "a", "2"]);
});

test("named variants keep declaration order even when they look like numbers", () => {
  const parsed = parse(stageYaml("    matrix:\n      year: { '2024': {}, '2023': {} }\n"));
  assertEquals(parsed.stages.map((s) => s.name), ["train@2024", "train@2023"]);
});

test("a variant's deps and outs override by name and may add new names", () => {
  const parsed = parse(stageYaml(
    "    deps: { data: data.json, config: base.yaml }\n    outs: { model: m.json }\n" +
      "    matrix:\n      model:\n        gpt:\n          deps: { config: gpt.yaml, tokenizer: tok.json }\n" +
      "          metrics: { score: gpt_score.json }\n        bert:\n",
  ));
  const [gpt, bert] = parsed.stages;
  assertEquals(gpt.deps, { data: "data.json", config: "gpt.yaml", tokenizer: "tok.json" });
  assertEquals(gpt.metrics, { score: "gpt_score.json" });
  assertEquals(bert.deps, { data: "data.json", config: "base.yaml" });
  assertEquals(bert.outs, { model: "m.json" });
});

test("a variant's mutex replaces the stage's", () => {
  const parsed = parse(stageYaml(
    "    mutex: [cpu]\n    matrix:\n      size:\n        big: { mutex: [gpu] }\n        small:\n",
  ));
  assertEquals(parsed.stages.map((s) => s.mutex), [["gpu"], ["cpu"]]);
});

test("variant params deep-merge over the stage's, later dimensions winning", () => {
  const parsed = parse(stageYaml(
    "    params: { opt: { lr: 0.1, momentum: 0.9 }, epochs: 1 }\n    matrix:\n" +
      "      a: { x: { params: { opt: { lr: 0.5 }, epochs: 2 } } }\n" +
      "      b: { y: { params: { epochs: 3 } } }\n",
  ));
  assertEquals(parsed.stages[0].params, { opt: { lr: 0.5, momentum: 0.9 }, epochs: 3 });
});

test("${dim} in params keeps a list value's type when it is the whole string", () => {
  const parsed = parse(stageYaml(
    "    params: { seed: '${seed}', tag: 'run-${seed}', names: ['${seed}'] }\n" +
      "    matrix:\n      seed: [1, 2]\n",
  ));
  assertEquals(parsed.stages[0].params, { seed: 1, tag: "run-1", names: [1] });
});

test("boolean and number list values name variants by their text", () => {
  const parsed = parse(stageYaml("    matrix:\n      flag: [true, false]\n      n: [10]\n"));
  assertEquals(parsed.stages.map((s) => s.name), ["train@true_10", "train@false_10"]);
  assertEquals(parsed.stages[0].matrixValues, { flag: true, n: 10 });
});

test("messages name a pivot.yml by its own name", async () => {
  await using temp = await tempDir();
  const dir = temp.root;
  await Deno.writeTextFile(join(dir, "pivot.yml"), "stages: []\n");
  const error = await assertRejects(() => loadPivotYaml(join(dir, "pivot.yml")));
  assertEquals(
    error.message,
    "pivot.yml:1: 'stages' must be a mapping (name: { run: … }), got a list",
  );
});

// --- errors: run ---

test("a run without #export is an error", async () => {
  assertEquals(
    await errorOf("stages:\n  train:\n    run: stages.ts\n"),
    "pivot.yaml:3: stage 'train': run 'stages.ts' names no export: write it as module#export (run: stages.ts#train)",
  );
});

test("a run with an absolute or URL module is an error", async () => {
  const expected = (module: string) =>
    `pivot.yaml:3: stage 'train': run module '${module}' must be a path relative to the YAML file's directory (run: stages.ts#train)`;
  assertEquals(await errorOf("stages:\n  train:\n    run: /abs/s.ts#f\n"), expected("/abs/s.ts"));
  assertEquals(await errorOf("stages:\n  train:\n    run: jsr:@x/y#f\n"), expected("jsr:@x/y"));
});

test("a stage without run is an error", async () => {
  assertEquals(
    await errorOf("stages:\n  train:\n    params: {}\n"),
    "pivot.yaml:3: stage 'train': missing 'run': add run: stages.ts#train (or cmd: python train.py for a command stage)",
  );
});

test("a run with an invalid export name is an error", async () => {
  assertEquals(
    await errorOf("stages:\n  train:\n    run: s.ts#my-fn\n"),
    "pivot.yaml:3: stage 'train': run 's.ts#my-fn': 'my-fn' is not an export name",
  );
});

test("a run with a variable is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix: { m: [a] }\n").replace("#train", "#${m}")),
    "pivot.yaml:3: stage 'train': run 'stages.ts#${m}' cannot use variables: every variant runs one function",
  );
});

// --- errors: variables ---

test("an unknown variable in a path names it, the stage, the path and the line", async () => {
  assertEquals(
    await errorOf(SPEC_EXAMPLE.replace("${dataset}.json", "${datset}.json")),
    `pivot.yaml:4: stage 'train': dep 'data': unknown variable '\${datset}' in "data/\${datset}.json": did you mean '\${dataset}'? (variables: model, dataset)`,
  );
});

test("an unknown variable in a variant's override points at the override", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      m:\n        a: { outs: { o: '${x}.json' } }\n")),
    `pivot.yaml:6: stage 'train': out 'o': unknown variable '\${x}' in "\${x}.json" (variables: m)`,
  );
});

test("a variable in a stage without a matrix is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    deps: { d: 'data/${name}.csv' }\n")),
    `pivot.yaml:4: stage 'train': dep 'd': unknown variable '\${name}' in "data/\${name}.csv" (the stage has no matrix, so there are no variables)`,
  );
});

test("an unknown variable in params names the param key", async () => {
  assertEquals(
    await errorOf(
      stageYaml("    params: { opt: { name: '${mdl}' } }\n    matrix: { model: [a] }\n"),
    ),
    `pivot.yaml:4: stage 'train': param 'opt.name': unknown variable '\${mdl}' in "\${mdl}" (variables: model)`,
  );
});

test("an unterminated ${ is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    outs: { o: 'out/${m.json' }\n    matrix: { m: [a] }\n")),
    `pivot.yaml:4: stage 'train': out 'o': unterminated '\${' in "out/\${m.json": close it with '}'`,
  );
});

// --- errors: matrix ---

test("a list value that cannot be part of a variant name is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      lr: [0.1]\n")),
    "pivot.yaml:5: stage 'train': matrix dimension 'lr': value '0.1' cannot be part of a variant name (letters, digits, '_', '-'): use a named variant instead, such as lr: { v1: { params: { lr: 0.1 } } }",
  );
});

test("an invalid named variant is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      model:\n        big one: {}\n")),
    "pivot.yaml:6: stage 'train': matrix dimension 'model': invalid variant name 'big one': use letters, digits, '_' and '-'",
  );
});

test("two combinations that join to one variant name are an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      a: [x_y, x]\n      b: [z, y_z]\n")),
    "pivot.yaml:5: stage 'train': matrix makes variant 'x_y_z' twice, from (x_y, z) and (x, y_z): rename a value",
  );
});

test("a value listed twice is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      a: [x, x]\n")),
    "pivot.yaml:5: stage 'train': matrix dimension 'a': value 'x' is listed twice",
  );
});

test("an empty dimension and an empty matrix are errors", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      a: []\n")),
    "pivot.yaml:5: stage 'train': matrix dimension 'a' is empty: give it at least one value",
  );
  assertEquals(
    await errorOf(stageYaml("    matrix: {}\n")),
    "pivot.yaml:4: stage 'train': 'matrix' has no dimensions: add dataset: [train, test]",
  );
});

test("a dimension that is neither a list nor a mapping is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      a: x\n")),
    `pivot.yaml:5: stage 'train': matrix dimension 'a' must be a list (dataset: [train, test]) or a mapping of named variants (model: { small: { params: … } }), got a string ("x")`,
  );
});

test("an invalid dimension name is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      my-dim: [a]\n")),
    "pivot.yaml:5: stage 'train': invalid matrix dimension 'my-dim': use letters, digits and '_' (it is used as ${my-dim})",
  );
});

// --- errors: keys, names and types ---

test("an unknown top-level key is an error with a suggestion", async () => {
  assertEquals(
    await errorOf("stage:\n  train: { run: s.ts#t }\n"),
    "pivot.yaml:2: top level: unknown key 'stage': did you mean 'stages'? (known: pipeline, stages, vars)",
  );
});

test("an unknown stage key is an error with a suggestion", async () => {
  assertEquals(
    await errorOf(stageYaml("    parms: { epochs: 1 }\n")),
    "pivot.yaml:4: stage 'train': unknown key 'parms': did you mean 'params'? (known: run, deps, outs, metrics, plots, params, mutex, matrix)",
  );
});

test("an unknown variant key is an error with a suggestion", async () => {
  assertEquals(
    await errorOf(stageYaml("    matrix:\n      m:\n        a: { dep: {} }\n")),
    "pivot.yaml:6: stage 'train': matrix 'm': variant 'a': unknown key 'dep': did you mean 'deps'? (known: deps, outs, metrics, plots, params, mutex)",
  );
});

test("a stage name with '@' is an error", async () => {
  assertEquals(
    await errorOf("stages:\n  train@a:\n    run: s.ts#t\n"),
    "pivot.yaml:3: invalid stage name 'train@a': '@' is reserved for variants, which a matrix names for you",
  );
});

test("a stage name with other characters is an error", async () => {
  assertEquals(
    await errorOf("stages:\n  my stage:\n    run: s.ts#t\n"),
    "pivot.yaml:3: invalid stage name 'my stage': use letters, digits, '_' and '-'",
  );
});

test("deps that are not a mapping are an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    deps: [a.csv]\n")),
    "pivot.yaml:4: stage 'train': 'deps' must be a mapping (dep_name: path), got a list",
  );
});

test("a path that is not a string is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    outs: { model: 5 }\n")),
    "pivot.yaml:4: stage 'train': out 'model' must be a path (a non-empty string), got a number (5)",
  );
});

test("params that are not a mapping are an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    params: [1]\n")),
    "pivot.yaml:4: stage 'train': 'params' must be a mapping (epochs: 10), got a list",
  );
});

test("a mutex that is not a list of names is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    mutex: gpu\n")),
    `pivot.yaml:4: stage 'train': 'mutex' must be a list of group names (mutex: [gpu]), got a string ("gpu")`,
  );
});

test("a name in both outs and metrics is an error", async () => {
  assertEquals(
    await errorOf(stageYaml("    outs: { m: a.json }\n    metrics: { m: b.json }\n")),
    "pivot.yaml:5: stage 'train': 'm' is declared in both 'outs' and 'metrics': give one another name",
  );
});

test("an invalid pipeline name is an error", async () => {
  assertEquals(
    await errorOf("pipeline: my pipeline\nstages: {}\n"),
    `pivot.yaml:1: 'pipeline' must be a name (letters, digits, '_', '-'), got a string ("my pipeline")`,
  );
});

test("an empty file and a file without stages are errors", async () => {
  assertEquals(
    await errorOf(""),
    "pivot.yaml: the file is empty: add 'stages:' with at least one stage",
  );
  assertEquals(
    await errorOf("pipeline: p\n"),
    "pivot.yaml:1: missing 'stages': add stages: { name: { run: … } }",
  );
});

test("malformed YAML is an error naming the file and line", async () => {
  assertEquals(
    await errorOf("stages:\n  train: { run: s.ts#t\n"),
    "pivot.yaml:3: invalid YAML: Flow map in block collection must be sufficiently indented and end with a }",
  );
});
