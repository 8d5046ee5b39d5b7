import { exportDvcYaml, type ExportStage } from "../../lib/dvc/export.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

function stage(name: string, more: Partial<ExportStage> = {}): ExportStage {
  const [baseName, variant] = name.split("@");
  return {
    name,
    baseName,
    variant,
    deps: ["data.csv", "pipeline.ts"],
    params: [],
    outs: [],
    frozen: false,
    alwaysChanged: false,
    ...more,
  };
}

test("a stage runs 'pivot run' with its deps, params and outs by section", async () => {
  const { text } = await exportDvcYaml([
    stage("train", {
      params: ["train"],
      outs: [
        { path: "model.json", section: "outs", cache: true, persist: false },
        { path: "scores.json", section: "metrics", cache: false, persist: false },
        { path: "roc.csv", section: "plots", cache: true, persist: false, plot: { x: "fpr" } },
      ],
    }),
  ], { header: "header" });
  assertEquals(
    text,
    `# header
stages:
  train:
    cmd: pivot run train
    deps:
      - data.csv
      - pipeline.ts
    params:
      - train
    outs:
      - model.json
    metrics:
      - scores.json:
          cache: false
    plots:
      - roc.csv:
          x: fpr
`,
  );
});

test("variants become one foreach stage with what differs in its items", async () => {
  const out = (model: string) => ({
    path: `models/${model}.json`,
    section: "outs" as const,
    cache: true,
    persist: false,
  });
  const { text, notes } = await exportDvcYaml([
    stage("train@small", { outs: [out("small")] }),
    stage("train@large", { outs: [out("large")], params: ["train@large"] }),
  ], { header: "h" });
  assertEquals(
    text,
    `# h
stages:
  train:
    foreach:
      small:
        v0: models/small.json
      large:
        v0: models/large.json
    do:
      cmd: pivot run train@\${key}
      deps:
        - data.csv
        - pipeline.ts
      params:
        - params.yaml: null
      outs:
        - \${item.v0}
`,
  );
  assertEquals(notes, [
    "the variants of 'train' name different params, so each depends on the whole of params.yaml",
  ]);
});
