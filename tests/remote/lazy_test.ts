/**
 * The S3 client stays off the start-up path: no module statically imported
 * from `cli.ts`, nor from `lib/remote/open.ts` (what commands will import),
 * reaches `aws4fetch`, `lib/remote/s3.ts` or `node:http`.
 */

import { output, test } from "../_harness.ts";
import { assertEquals } from "../_assert.ts";

const REPO = new URL("../../", import.meta.url).pathname;

interface Dependency {
  code?: { specifier: string };
  isDynamic?: boolean;
}
interface Module {
  specifier: string;
  dependencies?: Dependency[];
}

/** Specifiers reachable from `entry` through static (non-type, non-dynamic) imports. */
async function staticClosure(entry: string): Promise<Set<string>> {
  const info = await output(Deno.execPath(), {
    args: ["info", "--json", entry],
    cwd: REPO,
    stderr: "null",
  });
  const graph = JSON.parse(new TextDecoder().decode(info.stdout));
  const modules = new Map<string, Module>(
    (graph.modules as Module[]).map((m) => [m.specifier, m]),
  );
  const seen = new Set<string>();
  const visit = (specifier: string) => {
    if (seen.has(specifier)) return;
    seen.add(specifier);
    for (const dep of modules.get(specifier)?.dependencies ?? []) {
      if (dep.code && !dep.isDynamic) visit(dep.code.specifier);
    }
  };
  for (const root of graph.roots as string[]) visit(root);
  return seen;
}

const heavy = (specifier: string) =>
  specifier.includes("aws4fetch") || specifier.endsWith("/lib/remote/s3.ts") ||
  specifier === "node:http" || specifier === "node:https";

for (const entry of ["cli.ts", "lib/remote/open.ts"]) {
  test(`${entry} does not load the S3 client at start-up`, async () => {
    assertEquals([...await staticClosure(entry)].filter(heavy), []);
  });
}
