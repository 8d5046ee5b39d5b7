/** Caching: an unchanged project is not re-analysed; a change costs only what it touches. */

import { deepStrictEqual as assertEquals } from "node:assert/strict";
import { fileURLToPath } from "node:url";
import type { FingerprintStats } from "../../lib/fingerprint/fingerprint.ts";
import { changedKeys, PIVOT_ROOT, Project } from "./_project.ts";

const FILES = {
  "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { helper } from "./lib/helper.ts";

export const pipeline = new Pipeline("t");

pipeline.stage({
  name: "a",
  outs: { x: out("x.json", loaders.json<number>()) },
  run: () => ({ x: helper(1) }),
});
`,
  "lib/helper.ts": `export function helper(x: number) {\n  return x + 1;\n}\n`,
};

const newStats = (): FingerprintStats => ({ analysed: 0, graphRuns: 0, cachedStages: 0 });

Deno.test("an unchanged project is answered from the cache: no analysis, no deno info", async () => {
  await using project = await Project.create(FILES);
  const stages = await project.stages();
  const cold = newStats();
  const first = await project.fingerprint(stages, cold);
  assertEquals(cold, { analysed: 2, graphRuns: 1, cachedStages: 0 });
  const warm = newStats();
  const second = await project.fingerprint(stages, warm);
  assertEquals(warm, { analysed: 0, graphRuns: 0, cachedStages: 1 });
  assertEquals(second, first);
});

Deno.test("a fresh process on an unchanged project never imports TypeScript", async () => {
  await using project = await Project.create(FILES);
  const stages = await project.stages();
  await project.fingerprint(stages);
  await project.closeState();
  const stagesFile = `${project.root}/stages.json`;
  await Deno.writeTextFile(stagesFile, JSON.stringify(stages));
  const child = fileURLToPath(new URL("./_warm_child.ts", import.meta.url));
  const output = await new Deno.Command(Deno.execPath(), {
    args: ["run", "-A", "--unstable-kv", child, project.root, stagesFile, PIVOT_ROOT],
    stdout: "piped",
  }).output();
  const report = JSON.parse(new TextDecoder().decode(output.stdout));
  assertEquals(report, {
    stats: { analysed: 0, graphRuns: 0, cachedStages: 1 },
    typescriptLoads: 0,
  });
});

Deno.test("touching a file without changing it is still a cache hit", async () => {
  await using project = await Project.create(FILES);
  const stages = await project.stages();
  await project.fingerprint(stages);
  await project.write("lib/helper.ts", FILES["lib/helper.ts"]);
  const stats = newStats();
  await project.fingerprint(stages, stats);
  assertEquals(stats, { analysed: 0, graphRuns: 0, cachedStages: 1 });
});

Deno.test("a body edit re-analyses only that module and reuses the module graph", async () => {
  await using project = await Project.create(FILES);
  const stages = await project.stages();
  const before = (await project.fingerprint(stages)).get("a")!;
  await project.edit("lib/helper.ts", "x + 1", "x + 2");
  const stats = newStats();
  const after = (await project.fingerprint(stages, stats)).get("a")!;
  assertEquals(stats, { analysed: 1, graphRuns: 0, cachedStages: 0 });
  assertEquals(changedKeys(before, after), ["mod:lib/helper.ts#helper"]);
});

Deno.test("a new import re-resolves the module graph", async () => {
  await using project = await Project.create({
    ...FILES,
    "lib/extra.ts": "export const EXTRA = 1;\n",
  });
  const stages = await project.stages();
  await project.fingerprint(stages);
  await project.write(
    "lib/helper.ts",
    `import { EXTRA } from "./extra.ts";\nexport function helper(x: number) {\n  return x + EXTRA;\n}\n`,
  );
  const stats = newStats();
  const after = (await project.fingerprint(stages, stats)).get("a")!;
  assertEquals(stats.graphRuns, 1);
  assertEquals(after.manifest["mod:lib/extra.ts#EXTRA"] !== undefined, true);
});

Deno.test("reverting an edit gives back the first fingerprint from cached summaries", async () => {
  await using project = await Project.create(FILES);
  const stages = await project.stages();
  const first = await project.fingerprint(stages);
  await project.edit("lib/helper.ts", "x + 1", "x + 2");
  await project.fingerprint(stages);
  await project.write("lib/helper.ts", FILES["lib/helper.ts"]);
  const stats = newStats();
  assertEquals(await project.fingerprint(stages, stats), first);
  assertEquals(stats.analysed, 0);
});

Deno.test("localModuleFiles lists the pipeline's local modules, not Pivot's", async () => {
  const { localModuleFiles } = await import("../../lib/fingerprint/fingerprint.ts");
  await using project = await Project.create(FILES);
  const files = await localModuleFiles(`${project.root}/pipeline.ts`, {
    projectRoot: project.root,
    denoConfig: project.config,
    pivotRoot: PIVOT_ROOT,
    state: await project.state(),
  });
  assertEquals(files, [`${project.root}/lib/helper.ts`, `${project.root}/pipeline.ts`]);
});
