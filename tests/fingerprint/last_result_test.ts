/**
 * The last result: a warm run takes every stage's fingerprint from one record,
 * named by the stages' cache keys, while no module, config or lock file
 * changed. Each way the record must stop applying is tested here.
 */

import type { FingerprintStats } from "../../lib/fingerprint/fingerprint.ts";
import type { TempProject } from "../_project.ts";
import { changedKeys, fingerprint, fingerprintProject, loadStages } from "./_fingerprint.ts";
import type { EngineContext } from "../../lib/engine/context.ts";
import { refuseOutsOverCode } from "../../lib/engine/out_paths.ts";
import { PivotError } from "../../lib/errors.ts";
import { assert, assertEquals, assertMatch, assertThrows } from "../_assert.ts";
import { test } from "../_harness.ts";

/**
 * Stages made from a data file (no module changes when it does), all calling
 * `helper`, which calls `middle` in lib/b.ts, which calls `deep` in lib/c.ts;
 * `plain` calls none of them.
 */
const FILES = {
  "pipeline.ts": `import { loaders, out, Pipeline } from "jsr:@pivot/core";
import { helper } from "helpers";

export const pipeline = new Pipeline("t");

const spec = JSON.parse(Deno.readTextFileSync("stages.json")) as { names: string[]; indent: number };

for (const name of spec.names) {
  pipeline.stage({
    name,
    outs: { x: out(\`\${name}.json\`, loaders.json({ indent: spec.indent })) },
    run: () => ({ x: helper(name.length) }),
  });
}

pipeline.stage({
  name: "plain",
  outs: { y: out("y.json", loaders.json<number>()) },
  run: () => ({ y: 1 }),
});
`,
  "stages.json": JSON.stringify({ names: ["a", "b"], indent: 2 }),
  "lib/a.ts":
    `import { middle } from "./b.ts";\nexport function helper(x: number) {\n  return middle(x) + 1;\n}\n`,
  "lib/b.ts":
    `import { deep } from "./c.ts";\nexport function middle(x: number) {\n  return deep(x) * 2;\n}\n`,
  "lib/c.ts": `export function deep(x: number) {\n  return x - 3;\n}\n`,
  "lib/a2.ts": `export function helper(x: number) {\n  return x;\n}\n`,
};
const IMPORTS = { helpers: "./lib/a.ts" };

const newStats = (): FingerprintStats => ({ analysed: 0, graphRuns: 0, cachedStages: 0 });

async function setStages(project: TempProject, names: string[], indent = 2): Promise<void> {
  await project.write("stages.json", JSON.stringify({ names, indent }));
}

/** Fingerprints with a new state store instance: read back from disk, as a new process does. */
async function reopened(project: TempProject, stats?: FingerprintStats) {
  await project.closeState();
  return await fingerprint(project, await loadStages(project), stats);
}

test("a warm run takes every stage, with its locations, from the stored record", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  await setStages(project, ["a", "b", "c", "d"]);
  const cold = await fingerprint(project, await loadStages(project));
  const stats = newStats();
  const warm = await reopened(project, stats);
  assertEquals(stats, { analysed: 0, graphRuns: 0, cachedStages: 5 });
  // Locations are compared too: loops share a shape, each stage keeps its lines.
  assertEquals(warm, cold);
  assertEquals(warm.get("c")!.locations["loader:x"], { file: "pipeline.ts", line: 11 });
  assertEquals(warm.get("c")!.locations["mod:lib/c.ts#deep"], { file: "lib/c.ts", line: 1 });
});

test("a warm run's files are those its locations name: an out over one is still refused", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  await setStages(project, ["a", "b", "c"]);
  const stages = await loadStages(project);
  const cold = await fingerprint(project, stages);
  const stats = newStats();
  const warm = await reopened(project, stats);
  assertEquals(stats.cachedStages, 4);
  for (const [name, fingerprint] of warm) {
    const named = new Set(Object.values(fingerprint.locations).map((location) => location.file));
    assertEquals(new Set(fingerprint.files), named, name);
    assertEquals(new Set(cold.get(name)!.files), named, name);
  }
  assertEquals(
    new Set(warm.get("a")!.files),
    new Set(["pipeline.ts", "lib/a.ts", "lib/b.ts", "lib/c.ts"]),
  );
  // Stages of one shape share one list: the refusal looks at it once.
  assert(warm.get("a")!.files === warm.get("c")!.files);
  // lib/c.ts is reached only through two imports, never named by the pipeline file.
  const over = stages.map((stage) =>
    stage.name === "b"
      ? { ...stage, outs: [{ ...stage.outs[0], path: "lib/c.ts", abs: project.path("lib/c.ts") }] }
      : stage
  );
  for (const fingerprints of [cold, warm]) {
    const error = assertThrows(
      () =>
        refuseOutsOverCode({
          project: { root: project.root } as EngineContext["project"],
          graph: { order: over } as unknown as EngineContext["graph"],
          fingerprints,
        }),
      PivotError,
    );
    assertMatch(
      error.message,
      /stage 'b': out 'x' \(lib\/c\.ts\) is a source module of the pipeline/,
    );
  }
  // Without that out, nothing is refused.
  refuseOutsOverCode({
    project: { root: project.root } as EngineContext["project"],
    graph: { order: stages } as unknown as EngineContext["graph"],
    fingerprints: warm,
  });
});

test("stages added or removed with no code changed are fingerprinted afresh", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  const two = await fingerprint(project, await loadStages(project));
  await setStages(project, ["a", "b", "c"]);
  const stats = newStats();
  const three = await reopened(project, stats);
  assertEquals(stats.cachedStages, 0);
  assertEquals(stats.analysed, 0, "module summaries are still cached");
  assertEquals([...three.keys()].sort(), ["a", "b", "c", "plain"]);
  assertEquals(three.get("a"), two.get("a"));
  assertEquals(three.get("c")!.manifest, three.get("a")!.manifest);
  await setStages(project, ["b"]);
  const one = await reopened(project);
  assertEquals([...one.keys()].sort(), ["b", "plain"]);
  assertEquals(one.get("b"), two.get("b"));
});

test("a loader option changed by data alone changes that loader's entry", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  const before = await fingerprint(project, await loadStages(project));
  await setStages(project, ["a", "b"], 4);
  const after = await reopened(project);
  assertEquals(changedKeys(before.get("a")!, after.get("a")!), ["loader:x"]);
  assertEquals(changedKeys(before.get("plain")!, after.get("plain")!), []);
});

test("an edit two modules away changes exactly the stages reaching it; a comment changes none", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  const stages = await loadStages(project);
  await fingerprint(project, stages);
  const before = await reopened(project);
  await project.edit("lib/c.ts", "x - 3", "x - 4");
  const after = await reopened(project);
  assertEquals(changedKeys(before.get("a")!, after.get("a")!), ["mod:lib/c.ts#deep"]);
  assertEquals(changedKeys(before.get("b")!, after.get("b")!), ["mod:lib/c.ts#deep"]);
  assertEquals(changedKeys(before.get("plain")!, after.get("plain")!), []);
  await project.edit("lib/c.ts", "return x - 4;", "// four now\n  return x - 4;");
  const commented = await reopened(project);
  for (const name of ["a", "b", "plain"]) {
    assertEquals(commented.get(name)!.manifest, after.get(name)!.manifest);
  }
  const stats = newStats();
  await reopened(project, stats);
  assertEquals(stats.cachedStages, 3, "then warm again");
});

test("a changed import map in deno.json is noticed though no module changed", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  const before = await fingerprint(project, await loadStages(project));
  await project.writeConfig({ helpers: "./lib/a2.ts" });
  const stats = newStats();
  const after = await reopened(project, stats);
  assertEquals(stats.cachedStages, 0);
  assertEquals(stats.graphRuns, 1);
  assert(after.get("a")!.manifest["mod:lib/a2.ts#helper"] !== undefined);
  assertEquals(after.get("a")!.manifest["mod:lib/c.ts#deep"], undefined);
  assertEquals(before.get("a")!.manifest["mod:lib/a2.ts#helper"], undefined);
});

test("a deleted state store starts cold and gives the same fingerprints", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  const before = await fingerprint(project, await loadStages(project));
  await project.closeState();
  await Deno.remove(project.path(".pivot", "state"), { recursive: true });
  const stats = newStats();
  const after = await fingerprint(project, await loadStages(project), stats);
  assertEquals(stats.cachedStages, 0);
  assert(stats.analysed > 0 && stats.graphRuns === 1);
  assertEquals(after, before);
});

test("a long list of stages is named by a hash: one stage more or a loader option still misses", async () => {
  await using project = await fingerprintProject(FILES, IMPORTS);
  // Past SHORT_KEYS (32 KiB) of cache keys: about 100 characters a stage here.
  const names = Array.from({ length: 500 }, (_, i) => `stage_${i}`);
  await setStages(project, names);
  const cold = await fingerprint(project, await loadStages(project));
  const warmStats = newStats();
  assertEquals(await reopened(project, warmStats), cold);
  assertEquals(warmStats.cachedStages, 501);
  await setStages(project, [...names, "one_more"]);
  const moreStats = newStats();
  const more = await reopened(project, moreStats);
  assertEquals(moreStats.cachedStages, 0);
  assertEquals(more.get("one_more")!.manifest, more.get("stage_0")!.manifest);
  await setStages(project, [...names, "one_more"], 4);
  const indented = await reopened(project);
  assertEquals(changedKeys(more.get("stage_7")!, indented.get("stage_7")!), ["loader:x"]);
});
