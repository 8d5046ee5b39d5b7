/**
 * What a stage needs only when it is decided in full, run or recorded is
 * loaded with `import()` the first time a wave or a prediction needs it
 * (`lib/engine/engine_work.ts`), so a no-op `repro` or `status`, whose every
 * stage is verified, never loads it (docs/performance.md, "Lazy engine
 * modules"). Checked on the static import graph that `deno info` gives: a
 * static import of one of these modules on the no-op path fails here.
 */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { repositoryUrl, staticImports } from "../_static_imports.ts";

/** The modules of `lazy` reachable from `entry` by static imports, each with its import chain. */
async function staticallyLoaded(entry: string, lazy: readonly string[]): Promise<string[]> {
  const imports = await staticImports(entry);
  return lazy.map(repositoryUrl).filter((url) => imports.reached.has(url)).map((url) =>
    imports.chainTo(url)
  );
}

const RUN_ONLY = [
  "lib/engine/engine_work.ts",
  "lib/engine/command_stage.ts",
  "lib/engine/stage_lock.ts",
  "lib/engine/record.ts",
];

for (
  const [entry, lazy] of [
    ["lib/engine/engine.ts", [...RUN_ONLY, "lib/engine/decide.ts", "lib/engine/workspace_outs.ts"]],
    ["lib/engine/plan.ts", [...RUN_ONLY, "lib/engine/decide.ts"]],
    ["lib/cli/commands/repro.ts", [
      ...RUN_ONLY,
      "lib/engine/decide.ts",
      "lib/engine/workspace_outs.ts",
      "lib/engine/plan.ts",
    ]],
    ["lib/cli/commands/status.ts", [
      ...RUN_ONLY,
      "lib/engine/decide.ts",
      "lib/engine/workspace_outs.ts",
    ]],
  ] as const
) {
  test(`${entry} loads no module only a stage that runs needs`, async () => {
    assertEquals(await staticallyLoaded(entry, lazy), []);
  });
}
