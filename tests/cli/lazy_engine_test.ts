/**
 * What a stage needs only when it is decided in full, run or recorded is
 * loaded with `import()` the first time a wave or a prediction needs it
 * (`lib/engine/engine_work.ts`), so a no-op `repro` or `status`, whose every
 * stage is verified, never loads it (docs/performance.md, "Lazy engine
 * modules"). Checked on the static import graph that `deno info` gives: a
 * static import of one of these modules on the no-op path fails here.
 */

import { assertEquals } from "../_assert.ts";
import { output, test } from "../_harness.ts";

const ROOT = new URL("../../", import.meta.url);

interface InfoModule {
  readonly specifier: string;
  readonly dependencies?: readonly {
    readonly code?: { readonly specifier: string };
    readonly isDynamic?: boolean;
  }[];
}

/** The modules of `lazy` reachable from `entry` by static imports, each with its import chain. */
async function staticallyLoaded(entry: string, lazy: readonly string[]): Promise<string[]> {
  const { stdout, stderr, success } = await output(Deno.execPath(), {
    args: ["info", "--json", new URL(entry, ROOT).href],
  });
  if (!success) throw new Error(`deno info ${entry} failed: ${new TextDecoder().decode(stderr)}`);
  const modules = new Map<string, InfoModule>(
    (JSON.parse(new TextDecoder().decode(stdout)).modules as InfoModule[]).map((m) => [
      m.specifier,
      m,
    ]),
  );
  const start = new URL(entry, ROOT).href;
  const parent = new Map<string, string>();
  const queue = [start];
  const seen = new Set(queue);
  while (queue.length > 0) {
    const specifier = queue.shift()!;
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic || dep.code === undefined || seen.has(dep.code.specifier)) continue;
      seen.add(dep.code.specifier);
      parent.set(dep.code.specifier, specifier);
      queue.push(dep.code.specifier);
    }
  }
  const found: string[] = [];
  for (const path of lazy) {
    if (!seen.has(new URL(path, ROOT).href)) continue;
    const chain: string[] = [];
    for (
      let at: string | undefined = new URL(path, ROOT).href;
      at !== undefined;
      at = parent.get(at)
    ) {
      chain.unshift(at.slice(ROOT.href.length));
    }
    found.push(chain.join(" -> "));
  }
  return found;
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
