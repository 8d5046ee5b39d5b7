/**
 * The modules a no-op `repro`, `status` or `list`, or a `checkout`, loads in
 * the launcher's process import nothing from `node:`: the first `node:` import of a process
 * costs it Deno's Node compatibility layer, ~10 ms of CPU on every command
 * (docs/performance.md, "Start-up cost, sixth session"). Checked on the
 * static import graph that `deno info` gives (dynamic imports load only
 * when they run: `parseArgs`' `node:util` is one, for unusual command lines).
 */

import { assertEquals } from "../_assert.ts";
import { test } from "../_harness.ts";
import { staticImports } from "../_static_imports.ts";

/** The `node:` modules reachable from `entry` by static imports, each with its import chain. */
async function staticNodeImports(entry: string): Promise<string[]> {
  const imports = await staticImports(entry);
  return [...imports.reached].filter((specifier) => specifier.startsWith("node:")).map((
    specifier,
  ) => imports.chainTo(specifier));
}

for (
  const entry of [
    "cli.ts",
    "lib/cli/main_in_launcher.ts",
    "lib/cli/noop_answer.ts",
    "lib/cli/commands/repro.ts",
    "lib/cli/commands/status.ts",
    "lib/cli/commands/list.ts",
    // `checkout`, and the modules it imports when it runs.
    "lib/cli/commands/checkout.ts",
    "lib/storage/track.ts",
    "lib/storage/project_files.ts",
    "lib/cli/tracked_data.ts",
  ]
) {
  test(`no node: module is loaded with ${entry}`, async () => {
    assertEquals(await staticNodeImports(entry), []);
  });
}
