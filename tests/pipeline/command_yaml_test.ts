import { parsePivotYaml, type PivotYamlCommandStage } from "../../lib/pipeline/pivot_yaml.ts";
import { assertEquals, assertPivotError } from "../_assert.ts";
import { tempDir } from "../_project.ts";
import { test } from "../_harness.ts";

/** Parse `pivot.yaml` text in a directory holding `files`; the command stages. */
async function parse(
  text: string,
  files: Record<string, string> = {},
): Promise<PivotYamlCommandStage[]> {
  await using dir = await tempDir();
  for (const [path, content] of Object.entries(files)) await dir.write(path, content);
  const parsed = parsePivotYaml(text, dir.path("pivot.yaml"));
  return parsed.stages.filter((s): s is PivotYamlCommandStage => s.kind === "command");
}

async function errorOf(text: string, files: Record<string, string> = {}): Promise<string> {
  return await assertPivotError(() => parse(text, files));
}

test("a dvc.yaml stage is a command stage with DVC's fields", async () => {
  const [stage] = await parse(`stages:
  prepare:
    cmd: python src/prepare.py data/data.xml
    wdir: .
    deps: [data/data.xml, src/prepare.py]
    params:
      - prepare.seed
      - prepare.split
      - custom.yaml: [lr]
      - whole.json:
    outs:
      - data/prepared
      - logs:
          cache: false
          persist: true
    metrics:
      - scores.json:
          cache: false
    plots:
      - roc.csv:
          x: fpr
          y: tpr
          template: simple
          x_label: False positive rate
    frozen: true
    always_changed: false
    desc: Split the data
    meta: { owner: ml }
`);
  assertEquals(stage.name, "prepare");
  assertEquals(stage.commands, ["python src/prepare.py data/data.xml"]);
  assertEquals(stage.deps, ["data/data.xml", "src/prepare.py"]);
  assertEquals(stage.params, [
    { file: "params.yaml", keys: ["prepare.seed", "prepare.split"] },
    { file: "custom.yaml", keys: ["lr"] },
    { file: "whole.json", keys: undefined },
  ]);
  assertEquals(stage.outs, [
    { path: "data/prepared", kind: "out", cache: true, persist: false },
    { path: "logs", kind: "out", cache: false, persist: true },
    { path: "scores.json", kind: "metric", cache: false, persist: false },
    {
      path: "roc.csv",
      kind: "plot",
      cache: true,
      persist: false,
      plot: { template: "linear", x: "fpr", y: "tpr", xLabel: "False positive rate" },
    },
  ]);
  assertEquals([stage.frozen, stage.alwaysChanged, stage.desc], [true, false, "Split the data"]);
  assertEquals(stage.where, "pivot.yaml:3");
});

test("params follow DVC's merge: a whole file drops its keys listed elsewhere", async () => {
  const [stage] = await parse(`stages:
  s:
    cmd: run
    params:
      - lr
      - params.yaml:
      - other.yaml: [a, b]
      - other.yaml: [b, c]
`);
  assertEquals(stage.params, [
    { file: "params.yaml", keys: undefined },
    { file: "other.yaml", keys: ["a", "b", "c"] },
  ]);
});

test("a list cmd runs each entry; a multi-line cmd each line", async () => {
  const stages = await parse(`stages:
  a:
    cmd: [echo one, echo two]
  b:
    cmd: |
      echo one
      echo two
`);
  assertEquals(stages.map((s) => s.commands), [["echo one", "echo two"], ["echo one", "echo two"]]);
  assertEquals(stages[0].cmd, ["echo one", "echo two"]);
});

test("params.yaml beside the file and vars are interpolated, with Python's number text", async () => {
  const [stage] = await parse(
    `vars:
  - config.yaml:model
  - batch: 32
stages:
  train:
    vars:
      - tag: v1
    cmd: python train.py --lr \${train.lr} --epochs \${train.epochs} --model \${model.name} --batch \${batch} --tag \${tag}
    outs:
      - models/\${model.name}-\${tag}.pkl
`,
    {
      "params.yaml": "train:\n  lr: 1.0\n  epochs: 10\n",
      "config.yaml": "model:\n  name: forest\nunused: 1\n",
    },
  );
  assertEquals(
    stage.cmd,
    "python train.py --lr 1.0 --epochs 10 --model forest --batch 32 --tag v1",
  );
  assertEquals(stage.outs[0].path, "models/forest-v1.pkl");
  assertEquals(stage.files.map((f) => f.split("/").pop()), ["params.yaml", "config.yaml"]);
});

test("foreach over a list, a mapping, or ${var} names variants as DVC does", async () => {
  const stages = await parse(
    `stages:
  clean:
    foreach: [us, eu]
    do:
      cmd: clean \${item}
      outs:
        - clean/\${item}.csv
  fit:
    foreach:
      small: { n: 5 }
      large: { n: 50 }
    do:
      cmd: fit --name \${key} --n \${item.n}
  grid:
    foreach: \${grid}
    do:
      cmd: run \${item.lr}
  rates:
    foreach: [0.1, 1.0]
    do:
      cmd: rate \${item}
`,
    { "params.yaml": "grid:\n  - { lr: 0.5 }\n  - { lr: 2.0 }\n" },
  );
  assertEquals(stages.map((s) => [s.name, s.cmd]), [
    ["clean@us", "clean us"],
    ["clean@eu", "clean eu"],
    ["fit@small", "fit --name small --n 5"],
    ["fit@large", "fit --name large --n 50"],
    ["grid@0", "run 0.5"],
    ["grid@1", "run 2.0"],
    ["rates@0.1", "rate 0.1"],
    ["rates@1.0", "rate 1.0"],
  ]);
  assertEquals(stages[0].outs[0].path, "clean/us.csv");
  assertEquals([stages[0].baseName, stages[0].variant], ["clean", "us"]);
});

test("matrix crosses dimensions, variants named by values joined with '-'", async () => {
  const stages = await parse(`stages:
  train:
    matrix:
      model: [cnn, xgb]
      opt: [adam, { name: sgd }]
    cmd: train \${item.model} \${key}
`);
  assertEquals(stages.map((s) => [s.name, s.cmd]), [
    ["train@cnn-adam", "train cnn cnn-adam"],
    ["train@cnn-opt1", "train cnn cnn-opt1"],
    ["train@xgb-adam", "train xgb xgb-adam"],
    ["train@xgb-opt1", "train xgb xgb-opt1"],
  ]);
});

test("command stage errors name the line and say how to fix", async () => {
  const cases: [string, string, Record<string, string>?][] = [
    [
      "stages:\n  s:\n    cmd: x\n    outz: [a]\n",
      "pivot.yaml:4: stage 's': unknown key 'outz': did you mean 'outs'? (known: cmd, wdir, deps, outs, metrics, plots, params, vars, frozen, always_changed, desc, meta, mutex, matrix)",
    ],
    [
      "stages:\n  s:\n    cmd: x\n    run: a.ts#f\n",
      "pivot.yaml:4: stage 's': unknown key 'run': a stage has either 'run' (a function) or 'cmd' (a command) (known: cmd, wdir, deps, outs, metrics, plots, params, vars, frozen, always_changed, desc, meta, mutex, matrix)",
    ],
    [
      "stages:\n  s:\n    cmd: run ${train.epocs}\n",
      `pivot.yaml:3: stage 's': 'cmd': unknown variable '\${train.epocs}' in "run \${train.epocs}": 'train' has no 'epocs' (did you mean 'epochs'?) (keys: epochs)`,
      { "params.yaml": "train: { epochs: 3 }\n" },
    ],
    [
      "stages:\n  s:\n    foreach: [a]\n",
      "pivot.yaml:3: stage 's': 'foreach' needs 'do': put the stage (cmd, deps, …) under 'do'",
    ],
    [
      "stages:\n  s:\n    cmd: x\n    outs:\n      - m.pkl:\n          remote: s3\n",
      "pivot.yaml:6: stage 's': 'm.pkl': 'remote' is not supported (Pivot has one remote per project (pivot push -r REMOTE)): remove it",
    ],
    [
      "stages:\n  s:\n    cmd: x\n    plots:\n      - p.csv:\n          template: fancy\n",
      "pivot.yaml:6: stage 's': 'p.csv': unknown plot template 'fancy' (known: simple, linear, smooth, scatter, scatter_jitter, confusion, confusion_normalized, bar_horizontal, bar_horizontal_sorted)",
    ],
    [
      "vars:\n  - lr: 1\nstages:\n  s:\n    cmd: x\n",
      "pivot.yaml:2: cannot redefine 'lr' from 'vars[0]': it is already defined in 'params.yaml'",
      { "params.yaml": "lr: 2\n" },
    ],
    [
      "stages:\n  s:\n    foreach: [a]\n    do:\n      vars: [{ item: 1 }]\n      cmd: x\n",
      "pivot.yaml:5: stage 's@a': 'vars' cannot set 'item': it is reserved for foreach and matrix",
    ],
    [
      "stages:\n  s:\n    cmd: x\n    params: [{ p.py: [lr] }]\n",
      "pivot.yaml:4: stage 's': params file 'p.py': Python params files are not supported: use YAML or JSON",
    ],
    [
      "stages:\n  s:\n    cmd: ''\n",
      "pivot.yaml:3: stage 's': 'cmd' must be a command (a non-empty string) or a list of commands, got a string (\"\")",
    ],
  ];
  for (const [text, expected, files] of cases) {
    assertEquals(await errorOf(text, files), expected, text);
  }
});
