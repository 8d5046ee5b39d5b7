/**
 * The modules a no-op `repro`, `status` or `list` loads in the launcher's
 * process import nothing from `node:`: the first `node:` import of a process
 * costs it Deno's Node compatibility layer, ~10 ms of CPU on every command
 * (docs/performance.md, "Start-up cost, sixth session"). Checked on the
 * static import graph that `deno info` gives (dynamic imports load only
 * when they run: `parseArgs`' `node:util` is one, for unusual command lines).
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

/** The `node:` modules reachable from `entry` by static imports, with who imports each. */
async function staticNodeImports(entry: string): Promise<string[]> {
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
  const found: string[] = [];
  const seen = new Set<string>();
  const walk = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.isDynamic || dep.code === undefined) continue;
      if (dep.code.specifier.startsWith("node:")) {
        found.push(`${specifier.slice(ROOT.href.length)} imports ${dep.code.specifier}`);
      } else walk(dep.code.specifier);
    }
  };
  walk(new URL(entry, ROOT).href);
  return found;
}

for (
  const entry of [
    "cli.ts",
    "lib/cli/main_in_launcher.ts",
    "lib/cli/commands/repro.ts",
    "lib/cli/commands/status.ts",
    "lib/cli/commands/list.ts",
  ]
) {
  test(`no node: module is loaded with ${entry}`, async () => {
    assertEquals(await staticNodeImports(entry), []);
  });
}
