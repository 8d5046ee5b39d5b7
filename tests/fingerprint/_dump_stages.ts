/**
 * Test helper, run in a child `deno` with the test project's config: imports
 * a pipeline file and prints its registered stages (names, call sites,
 * loader specs) as JSON, the way the real pipeline loader sees them.
 *
 * @module
 */

import { loaderSpecOf } from "../../lib/model/loader_spec.ts";
import { PIPELINE_BRAND, type RegisteredStage } from "../../lib/api/pipeline.ts";

const file = Deno.args[0];
const module = await import(new URL(file, `file://${Deno.cwd()}/`).href);
const stages: unknown[] = [];
for (const value of Object.values(module)) {
  if (typeof value !== "object" || value === null || !(PIPELINE_BRAND in value)) continue;
  for (const stage of (value as unknown as { stages: RegisteredStage[] }).stages) {
    const artifacts = (record: Record<string, { path: string; loader: unknown }>) =>
      Object.entries(record).map(([name, a]) => ({
        name,
        path: a.path,
        loader: loaderSpecOf(a.loader) ?? null,
      }));
    stages.push({
      name: stage.name,
      baseName: stage.baseName,
      variant: stage.variant ?? null,
      site: stage.site,
      definitionSite: stage.definitionSite ?? null,
      functionName: stage.run.name,
      deps: artifacts(stage.deps),
      outs: artifacts(stage.outs),
    });
  }
}
console.log(JSON.stringify(stages));
