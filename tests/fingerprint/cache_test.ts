/** Caching: an unchanged project is not re-analysed; a change costs only what it touches. */

import { fileURLToPath } from "node:url";
import {
  type FingerprintStats,
  registrationModules,
  staleFingerprintKeys,
} from "../../lib/fingerprint/fingerprint.ts";
import {
  changedKeys,
  fingerprint,
  fingerprintOptions,
  fingerprintProject,
  loadStages,
} from "./_fingerprint.ts";
import { readBlob, writeBlob } from "../../lib/fingerprint/_blob.ts";
import { NS } from "../../lib/storage/state.ts";
import { REPO } from "../_project.ts";
import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";

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

test("an unchanged project is answered from the cache: no analysis, no deno info", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  const cold = newStats();
  const first = await fingerprint(project, stages, cold);
  assertEquals(cold, { analysed: 2, graphRuns: 1, cachedStages: 0 });
  const warm = newStats();
  const second = await fingerprint(project, stages, warm);
  assertEquals(warm, { analysed: 0, graphRuns: 0, cachedStages: 1 });
  assertEquals(second, first);
});

test("a fresh process on an unchanged project never imports TypeScript", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  await fingerprint(project, stages);
  await project.closeState();
  const stagesFile = `${project.root}/stages.json`;
  await Deno.writeTextFile(stagesFile, JSON.stringify(stages));
  const child = fileURLToPath(new URL("./_warm_child.ts", import.meta.url));
  const report = JSON.parse(
    await project.run("deno", "run", "-A", "--unstable-kv", child, project.root, stagesFile, REPO),
  );
  assertEquals(report, {
    stats: { analysed: 0, graphRuns: 0, cachedStages: 1 },
    typescriptLoads: 0,
  });
});

test("prepareAnalysis loads TypeScript only for a module whose text has no kept analysis", async () => {
  await using project = await fingerprintProject(FILES);
  await fingerprint(project, await loadStages(project));
  await project.closeState();
  const child = fileURLToPath(new URL("./_prepare_child.ts", import.meta.url));
  const loads = async (...paths: string[]) =>
    JSON.parse(
      await project.run("deno", "run", "-A", "--unstable-kv", child, project.root, REPO, ...paths),
    ).typescriptLoads;
  const helper = `${project.root}/lib/helper.ts`;
  assertEquals(await loads(helper), 0, "the helper's text is analysed already");
  assertEquals(await loads(`${project.root}/params.yaml`), 0, "not a module");
  await Deno.writeTextFile(helper, FILES["lib/helper.ts"].replace("x + 1", "x + 2"));
  assertEquals(await loads(`${project.root}/params.yaml`, helper), 1, "new text");
  await Deno.writeTextFile(helper, FILES["lib/helper.ts"]);
  assertEquals(await loads(helper), 0, "an undo finds the first analysis");
});

test("touching a file without changing it is still a cache hit", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  await fingerprint(project, stages);
  await project.write("lib/helper.ts", FILES["lib/helper.ts"]);
  const stats = newStats();
  await fingerprint(project, stages, stats);
  assertEquals(stats, { analysed: 0, graphRuns: 0, cachedStages: 1 });
});

test("a body edit re-analyses only that module and reuses the module graph", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  const before = (await fingerprint(project, stages)).get("a")!;
  await project.edit("lib/helper.ts", "x + 1", "x + 2");
  const stats = newStats();
  const after = (await fingerprint(project, stages, stats)).get("a")!;
  assertEquals(stats, { analysed: 1, graphRuns: 0, cachedStages: 0 });
  assertEquals(changedKeys(before, after), ["mod:lib/helper.ts#helper"]);
});

test("a new import re-resolves the module graph", async () => {
  await using project = await fingerprintProject({
    ...FILES,
    "lib/extra.ts": "export const EXTRA = 1;\n",
  });
  const stages = await loadStages(project);
  await fingerprint(project, stages);
  await project.write(
    "lib/helper.ts",
    `import { EXTRA } from "./extra.ts";\nexport function helper(x: number) {\n  return x + EXTRA;\n}\n`,
  );
  const stats = newStats();
  const after = (await fingerprint(project, stages, stats)).get("a")!;
  assertEquals(stats.graphRuns, 1);
  assertEquals(after.manifest["mod:lib/extra.ts#EXTRA"] !== undefined, true);
});

test("reverting an edit gives back the first fingerprint from cached summaries", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  const first = await fingerprint(project, stages);
  await project.edit("lib/helper.ts", "x + 1", "x + 2");
  await fingerprint(project, stages);
  await project.write("lib/helper.ts", FILES["lib/helper.ts"]);
  const stats = newStats();
  assertEquals(await fingerprint(project, stages, stats), first);
  assertEquals(stats.analysed, 0);
});

test("localModuleFiles lists the pipeline's local modules, not Pivot's", async () => {
  const { localModuleFiles } = await import("../../lib/fingerprint/fingerprint.ts");
  await using project = await fingerprintProject(FILES);
  const files = await localModuleFiles(
    `${project.root}/pipeline.ts`,
    await fingerprintOptions(project),
  );
  assertEquals(files, [`${project.root}/lib/helper.ts`, `${project.root}/pipeline.ts`]);
});

test("a module graph recorded before `own` existed is made again once for the load cache", async () => {
  await using project = await fingerprintProject(FILES);
  const stages = await loadStages(project);
  await fingerprint(project, stages);
  // The graph as an older Pivot recorded it: no module lists its imports of
  // Pivot's API, so the load cache could never judge the pipeline.
  const state = await project.state();
  let rewritten = 0;
  for await (const entry of state.kv.list({ prefix: [NS.fingerprint, "graph"] })) {
    if (entry.key.length !== 4) continue; // a chunk of a large record
    const record = await readBlob<{ graph: Record<string, { own?: string[] }> }>(state, entry.key);
    for (const module of Object.values(record!.graph)) delete module.own;
    writeBlob(state, entry.key, record);
    rewritten++;
  }
  await state.flush();
  assertEquals(rewritten, 1);
  const judge = async () => {
    const stats = newStats();
    const found = await registrationModules(
      project.path("pipeline.ts"),
      await fingerprintOptions(project, stats),
    );
    await state.flush();
    return { found, graphRuns: stats.graphRuns };
  };
  const files = [project.path("pipeline.ts"), project.path("lib/helper.ts")];
  assertEquals(await judge(), { found: { files }, graphRuns: 1 });
  assertEquals(await judge(), { found: { files }, graphRuns: 0 });
});

test("a .ts and a .tsx module with the same text are each parsed in their own syntax", async () => {
  // The extension picks the parser, so one content hash can be two programs:
  // each module's analysis is kept under its hash and its syntax.
  const helper = FILES["lib/helper.ts"];
  await using project = await fingerprintProject({
    // FILES' pipeline, with a second stage calling the .tsx twin of its helper.
    "pipeline.ts": FILES["pipeline.ts"].replace(
      'import { helper } from "./lib/helper.ts";\n',
      '$&import { helper as viewHelper } from "./lib/view.tsx";\n',
    ) + `
pipeline.stage({
  name: "b",
  outs: { y: out("y.json", loaders.json<number>()) },
  run: () => ({ y: viewHelper(2) }),
});
`,
    "lib/helper.ts": helper,
    "lib/view.tsx": helper,
  });
  const stages = await loadStages(project);
  const cold = newStats();
  const first = await fingerprint(project, stages, cold);
  assertEquals(cold.analysed, 3);
  const keys = Object.keys(first.get("b")?.manifest ?? {});
  assertEquals(keys.some((key) => key.includes("lib/view.tsx")), true, keys.join(", "));
  // An edit elsewhere takes both helpers' analyses from the state.
  await Deno.writeTextFile(
    project.path("pipeline.ts"),
    (await Deno.readTextFile(project.path("pipeline.ts"))) + "// edited\n",
  );
  const warm = newStats();
  assertEquals(await fingerprint(project, stages, warm), first);
  assertEquals(warm.analysed, 1);
  // gc drops the old pipeline.ts's analyses only (its summary and its scan).
  const stale = (await staleFingerprintKeys(await project.state()))
    .filter((key) => key[1] === "summary" || key[1] === "registration");
  assertEquals(stale.length, 2);
  assertEquals(stale.some((key) => String(key[3]).endsWith(":tsx")), false);
});
