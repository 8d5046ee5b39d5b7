/**
 * Pipelines of many stages written out one call after another: past
 * EXACT_SITES such calls, stages are registered without a line (finding it
 * costs time quadratic in the module's length) and the resolver finds each
 * stage's call by its literal name, or takes every module that could have
 * registered it.
 */

import { EXACT_SITES } from "../../lib/api/pipeline.ts";
import { changesAfter, fingerprintProject, loadStages } from "./_fingerprint.ts";
import { assert, assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

const COUNT = EXACT_SITES + 10;

/** `pipeline.ts` with COUNT literal-named stages, then `tail`. */
function pipelineOf(tail = ""): Record<string, string> {
  const stages = Array.from(
    { length: COUNT },
    (_, i) => `pipeline.stage({\n  name: "s${i}",\n  run: () => ({ v: ${i} }),\n});\n`,
  );
  return {
    "pipeline.ts": `import { Pipeline } from "jsr:@pivot/core";\n\n` +
      `export const pipeline = new Pipeline("many");\n\n${stages.join("\n")}${tail}`,
  };
}

const NO_CHANGE = (except: Record<string, string[]>) =>
  Object.fromEntries([
    ...Array.from({ length: COUNT }, (_, i) => [`s${i}`, [] as string[]]),
    ...Object.entries(except),
  ]);

test("stages past EXACT_SITES distinct calls are registered without a line", async () => {
  await using project = await fingerprintProject(pipelineOf());
  const stages = await loadStages(project);
  assertEquals(stages.length, COUNT);
  for (const [i, stage] of stages.entries()) {
    if (stage.code.kind !== "registered") throw new Error("expected a registered stage");
    assertEquals(stage.code.site.url, `file://${project.path("pipeline.ts")}`);
    assert(i < EXACT_SITES ? stage.code.site.line > 0 : stage.code.site.line === 0, stage.name);
  }
});

test("a stage without a line is found by its name: an edit changes that stage only", async () => {
  const late = `s${EXACT_SITES + 5}`;
  const changes = await changesAfter(
    pipelineOf(),
    (p) => p.edit("pipeline.ts", `({ v: ${EXACT_SITES + 5} })`, "({ v: -1 })"),
  );
  assertEquals(changes, NO_CHANGE({ [late]: ["self:run"] }));
});

test("an edit of an early stage still changes that stage only", async () => {
  const changes = await changesAfter(
    pipelineOf(),
    (p) => p.edit("pipeline.ts", "({ v: 3 })", "({ v: -3 })"),
  );
  assertEquals(changes, NO_CHANGE({ s3: ["self:run"] }));
});

test("the one call computing its name is the call of a stage no literal names", async () => {
  const tail = `\nfor (const name of ["x"]) pipeline.stage({ name, run: () => ({ v: "x" }) });\n`;
  const changes = await changesAfter(
    pipelineOf(tail),
    (p) => p.edit("pipeline.ts", `({ v: "x" })`, `({ v: "x2" })`),
  );
  assert(changes.x.includes("self:run"), `x: ${changes.x}`);
  // The loop could have registered any name: the stages without a line take
  // the whole module (it changed); those with one keep their call.
  for (let i = 0; i < COUNT; i++) {
    const changed = changes[`s${i}`].includes("self:run");
    assertEquals(changed, i >= EXACT_SITES, `s${i}: ${changes[`s${i}`]}`);
  }
});

test("when several calls could have registered a stage, all their code counts", async () => {
  const tail = `\nfor (const name of ["x"]) pipeline.stage({ name, run: () => ({ v: "x" }) });\n` +
    `for (const name of ["y"]) pipeline.stage({ name, run: () => ({ v: "y" }) });\n`;
  const changes = await changesAfter(
    pipelineOf(tail),
    (p) => p.edit("pipeline.ts", `({ v: "x" })`, `({ v: "x2" })`),
  );
  assert(changes.x.includes("self:run"), `x: ${changes.x}`);
  assert(changes.y.includes("self:run"), `y: ${changes.y}`);
  assertEquals(changes.s1, []);
});

test("stages registered from a loop keep exact sites", async () => {
  await using project = await fingerprintProject({
    "pipeline.ts": `import { Pipeline } from "jsr:@pivot/core";\n\n` +
      `export const pipeline = new Pipeline("loop");\n` +
      `for (let i = 0; i < ${COUNT}; i++) pipeline.stage({ name: \`s\${i}\`, run: () => ({ i }) });\n`,
  });
  const stages = await loadStages(project);
  assertEquals(stages.length, COUNT);
  for (const stage of stages) {
    if (stage.code.kind !== "registered") throw new Error("expected a registered stage");
    assertEquals(stage.code.site.line, 4, stage.name);
  }
});
