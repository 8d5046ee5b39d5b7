/**
 * The launcher's answer of a no-op `repro` from the record
 * (lib/cli/noop_answer.ts) loads none of what the full `repro` loads to
 * decide: the session's loading, the load cache's decoding, the engine, the
 * driver, the fingerprint, the cache's objects (docs/performance.md,
 * "176-stage no-op, eleventh session"). Checked on the static import graph
 * that `deno info` gives: a static import of one of these modules on the
 * record's path fails here.
 */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { repositoryUrl, staticImports } from "../_static_imports.ts";

const FULL_WAY_ONLY = [
  "lib/cli/session.ts",
  "lib/cli/wave.ts",
  "lib/cli/load_cache.ts",
  "lib/cli/commands/repro.ts",
  "lib/engine/engine.ts",
  "lib/engine/driver.ts",
  "lib/engine/verified.ts",
  "lib/fingerprint/fingerprint.ts",
  "lib/graph/graph.ts",
  "lib/pipeline/load.ts",
  "lib/pipeline/discovery.ts",
  "lib/storage/cache.ts",
  "lib/storage/hash.ts",
  "lib/worker/pool.ts",
];

for (const entry of ["lib/cli/noop_answer.ts", "lib/cli/main_in_launcher.ts"]) {
  test(`${entry} loads none of the full repro's modules`, async () => {
    const imports = await staticImports(entry);
    const loaded = FULL_WAY_ONLY.map(repositoryUrl).filter((url) => imports.reached.has(url));
    assertEquals(loaded.map((url) => imports.chainTo(url)), []);
  });
}

test("the record's repro is repro: same name, summary, usage, and the options it takes are repro's", async () => {
  const { reproFromRecord } = await import("../../lib/cli/noop_answer.ts");
  const { repro } = await import("../../lib/cli/commands/repro.ts");
  assertEquals(
    [reproFromRecord.name, reproFromRecord.summary, reproFromRecord.usage],
    [repro.name, repro.summary, repro.usage],
  );
  for (const [name, spec] of Object.entries(reproFromRecord.options)) {
    assertEquals(spec, repro.options[name], name);
  }
});
