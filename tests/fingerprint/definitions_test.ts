/** Reusable definitions (`defineStage` + `pipeline.register`) and pivot.yaml exports. */

import type { TempProject } from "../_project.ts";
import { changedKeys, changesAfter, fingerprint, fingerprintProject } from "./_fingerprint.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const DEFS = {
  "pipeline.ts": `import { Pipeline } from "jsr:@pivot/core";
import { trainDef } from "./lib/defs.ts";

export const pipeline = new Pipeline("t");

for (const size of ["small", "large"]) {
  pipeline.register(trainDef, { name: \`train@\${size}\`, outs: { model: \`models/\${size}.json\` } });
}
`,
  "lib/defs.ts": `import { defineStage, loaders, out } from "jsr:@pivot/core";
import { fit } from "./fit.ts";

export const trainDef = defineStage({
  outs: { model: out("model.json", loaders.json<number>()) },
  params: { epochs: 3 },
  run: (_deps, { params }) => ({ model: fit(params.epochs) }),
});

export const otherDef = defineStage({ run: () => ({}) });
`,
  "lib/fit.ts": `export function fit(epochs: number): number {\n  return epochs * 2;\n}\n`,
};

test("a registered definition's run function changes self:run of every variant", async () => {
  const changes = await changesAfter(
    DEFS,
    (p) => p.edit("lib/defs.ts", "fit(params.epochs)", "fit(params.epochs + 1)"),
  );
  assertEquals(changes, { "train@small": ["self:run"], "train@large": ["self:run"] });
});

test("a helper of a registered definition changes its key", async () => {
  const changes = await changesAfter(DEFS, (p) => p.edit("lib/fit.ts", "epochs * 2", "epochs * 3"));
  assertEquals(changes, {
    "train@small": ["mod:lib/fit.ts#fit"],
    "train@large": ["mod:lib/fit.ts#fit"],
  });
});

test("another definition in the same module changes nothing", async () => {
  const changes = await changesAfter(
    DEFS,
    (p) => p.edit("lib/defs.ts", "run: () => ({})", "run: () => ({ x: 1 })"),
  );
  assertEquals(changes, { "train@small": [], "train@large": [] });
});

const STAGES =
  `export function train(): { w: number } {\n  return { w: scale(2) };\n}\n\nfunction scale(x: number) {\n  return x * 5;\n}\n\nexport function other() {\n  return {};\n}\n`;

function exportStage(project: TempProject): StageDef {
  const file = `${project.root}/stages.ts`;
  return {
    name: "train",
    baseName: "train",
    variant: undefined,
    pipeline: { name: "yaml", file: `${project.root}/pivot.yaml`, dir: project.root },
    deps: [],
    outs: [],
    params: {},
    mutex: [],
    permissions: { read: [], net: false, env: false, run: false, ffi: false, sys: false },
    lockFile: `${project.root}/.pivot/stages/train.lock`,
    code: { kind: "export", moduleUrl: `file://${file}`, exportName: "train" },
  };
}

test("a pivot.yaml stage (module#export) follows its helpers", async () => {
  await using project = await fingerprintProject({ "stages.ts": STAGES });
  const before = (await fingerprint(project, [exportStage(project)])).get("train")!;
  await project.edit("stages.ts", "x * 5", "x * 6");
  const after = (await fingerprint(project, [exportStage(project)])).get("train")!;
  assertEquals(Object.keys(before.manifest), ["func:scale", "self:run"]);
  assertEquals(changedKeys(before, after), ["func:scale"]);
});

test("a pivot.yaml stage ignores other exports of its module", async () => {
  await using project = await fingerprintProject({ "stages.ts": STAGES });
  const before = (await fingerprint(project, [exportStage(project)])).get("train")!;
  await project.edit("stages.ts", "return {};", "return { x: 1 };");
  const after = (await fingerprint(project, [exportStage(project)])).get("train")!;
  assertEquals(changedKeys(before, after), []);
});
