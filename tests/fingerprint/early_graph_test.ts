/**
 * A cold command's `deno info` started ahead of need (`startModuleGraph`,
 * lib/cli/session.ts starts it as the pipeline's import begins): the
 * fingerprint takes its graph only when no module or config input changed
 * since it started, and is the same as without it.
 */

import {
  type EarlyGraph,
  fingerprintStages,
  type FingerprintStats,
  startModuleGraph,
} from "../../lib/fingerprint/fingerprint.ts";
import { fingerprint, fingerprintOptions, fingerprintProject, loadStages } from "./_fingerprint.ts";
import { age } from "../_project.ts";
import { assert, assertEquals } from "../_assert.ts";
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
  "lib/extra.ts": "export const EXTRA = 1;\n",
};

const newStats = (): FingerprintStats => ({ analysed: 0, graphRuns: 0, cachedStages: 0 });

/** A `deno` that cannot run: a fingerprint given it succeeds only without running `deno info`. */
const NO_DENO = "/nonexistent/deno";

test("the fingerprint takes the graph of a deno info started early, and is the same", async () => {
  await using twin = await fingerprintProject(FILES);
  await using project = await fingerprintProject(FILES);
  age(project);
  const stages = await loadStages(project);
  const options = await fingerprintOptions(project);
  const early = await startModuleGraph(project.path("pipeline.ts"), options);
  assert(early !== undefined, "no graph is recorded: started");
  const stats = newStats();
  const found = await fingerprintStages(stages, {
    ...options,
    deno: NO_DENO,
    stats,
    earlyGraph: () => early,
  });
  await options.state.flush();
  assertEquals(stats, { analysed: 2, graphRuns: 1, cachedStages: 0 });
  assertEquals(found, await fingerprint(twin));
  // The graph is recorded now: nothing is started again, and a warm fingerprint agrees.
  assertEquals(await startModuleGraph(project.path("pipeline.ts"), options), undefined);
  assertEquals(await fingerprint(project, stages), found);
});

test("a module changed after the early start is graphed again, with its new import", async () => {
  await using project = await fingerprintProject(FILES);
  age(project);
  const options = await fingerprintOptions(project);
  const early = await startModuleGraph(project.path("pipeline.ts"), options);
  assert(early !== undefined);
  await early.graph;
  // Edited once that `deno info` had read it: its graph lacks the new import.
  await project.write(
    "lib/helper.ts",
    `import { EXTRA } from "./extra.ts";\nexport function helper(x: number) {\n  return x + EXTRA;\n}\n`,
  );
  const stages = await loadStages(project);
  const stats = newStats();
  const found = await fingerprintStages(stages, {
    ...options,
    stats,
    earlyGraph: (): EarlyGraph => early,
  });
  await options.state.flush();
  assertEquals(stats.graphRuns, 1);
  assert(found.get("a")!.manifest["mod:lib/extra.ts#EXTRA"] !== undefined, "the new import");
});

test("a deno info started early that failed leaves the usual run to say why", async () => {
  await using project = await fingerprintProject(FILES);
  age(project);
  const options = await fingerprintOptions(project);
  const early = await startModuleGraph(project.path("pipeline.ts"), { ...options, deno: NO_DENO });
  assert(early !== undefined);
  assertEquals(await early.graph, undefined);
  const stages = await loadStages(project);
  const found = await fingerprintStages(stages, { ...options, earlyGraph: () => early });
  await options.state.flush();
  assertEquals(found, await fingerprint(project, stages));
});
