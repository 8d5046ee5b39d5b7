import { convertDvcYaml } from "../../lib/dvc/convert.ts";
import { parsePivotYaml } from "../../lib/pipeline/pivot_yaml.ts";
import { assertEquals, assertMatch, assertPivotError } from "../_assert.ts";
import { test } from "../_harness.ts";

const GET_STARTED = `# The pipeline
artifacts:
  text-classification:
    path: model.pkl
    type: model
stages:
  prepare:
    cmd: python src/prepare.py data/data.xml  # split the data
    deps:
    - data/data.xml
    - src/prepare.py
    params:
    - prepare.seed
    outs:
    - data/prepared
  evaluate:
    cmd: python src/evaluate.py model.pkl data/features
    deps:
    - model.pkl
    outs:
    - eval
    - scores.json:
        remote: myremote
        cache: false
    - prc.json
metrics:
- scores.json
- eval/metrics.json
plots:
- prc.json
- ROC:
    x: fpr
    y:
      eval/roc/train.json: tpr
params:
- params.yaml
`;

test("a dvc.yaml keeps its stages and comments; what Pivot has no place for is reported", async () => {
  const { text, notes } = await convertDvcYaml(GET_STARTED, "dvc.yaml");
  assertMatch(text, /^# Converted from dvc\.yaml by 'pivot import-dvc'/);
  assertMatch(text, /# The pipeline/);
  assertMatch(text, /cmd: python src\/prepare\.py data\/data\.xml # split the data/);
  const parsed = parsePivotYaml(text, "/nowhere/pivot.yaml");
  const evaluate = parsed.stages.find((s) => s.name === "evaluate");
  assertEquals(evaluate?.kind, "command");
  if (evaluate?.kind !== "command") return;
  assertEquals(evaluate.outs.map((o) => [o.path, o.kind, o.cache]), [
    ["eval", "out", true],
    ["scores.json", "metric", false],
    ["prc.json", "plot", true],
  ]);
  assertEquals(notes, [
    "stage 'evaluate': 'scores.json': option 'remote' is left out (Pivot pushes every cached out to the remote you name (pivot push -r REMOTE))",
    "top-level 'artifacts' (DVC's model registry) is left out: Pivot has no artifact registry",
    "top-level metric 'scores.json' is now a metric of stage 'evaluate'",
    "top-level metric 'eval/metrics.json' is left out: it is inside an out of stage 'evaluate', and a metric must be an out of its own: list it under 'metrics' of the stage that writes it to see it in 'pivot metrics show'",
    "top-level plot 'prc.json' is now a plot of stage 'evaluate'",
    "top-level plot 'ROC' (a plot across files) is left out: declare each file as a plot of the stage that writes it, with x and y",
    "top-level 'params' (params files for 'dvc params show') is left out: 'pivot params show' shows the params of every stage",
  ]);
});

test("a Python or TOML params file becomes a dep; an unknown plot template is dropped", async () => {
  const { text, notes } = await convertDvcYaml(
    `stages:
  train:
    foreach: [a, b]
    do:
      cmd: python train.py \${item}
      params:
      - params.py:
        - LR
      - lr
      plots:
      - loss.csv:
          template: fancy
          x: step
`,
    "dvc.yaml",
  );
  const stages = parsePivotYaml(text, "/nowhere/pivot.yaml").stages;
  assertEquals(stages.map((s) => s.name), ["train@a", "train@b"]);
  const [stage] = stages;
  if (stage.kind !== "command") throw new Error("not a command stage");
  assertEquals(stage.deps, ["params.py"]);
  assertEquals(stage.params, [{ file: "params.yaml", keys: ["lr"] }]);
  assertEquals(stage.outs[0].plot, { x: "step" });
  assertEquals(notes.length, 2);
  assertMatch(notes[0], /plot template 'fancy' is left out/);
  assertMatch(notes[1], /params file 'params\.py' is a dep now/);
});

test("a stage name Pivot cannot take is refused", async () => {
  assertEquals(
    await assertPivotError(() => convertDvcYaml("stages:\n  'a.b':\n    cmd: x\n", "dvc.yaml")),
    "dvc.yaml: stage name 'a.b' has characters Pivot does not allow in names (letters, digits, '_', '-'): rename the stage first",
  );
});
