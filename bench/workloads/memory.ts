/**
 * Workload 6: peak memory (maximum resident set size, from GNU time) of the
 * full and no-op runs of the 176-stage pipeline, for each tool. Reuses the
 * runs of workload 1 when it ran in the same invocation.
 *
 * @module
 */

import { type BenchContext, pipelineKey } from "../_context.ts";
import { hasGnuTime } from "../_measure.ts";
import { rssCell, type Section, table } from "../_report.ts";
import { measurePipeline } from "./_pipeline_runs.ts";
import { HEADLINE_STAGES } from "./pipeline.ts";

/** Measure (or reuse) the full and no-op runs, then report their peak memory. */
export async function memoryWorkload(ctx: BenchContext): Promise<Section> {
  const title = `6. Peak memory (${HEADLINE_STAGES} stages)`;
  if (!(await hasGnuTime())) {
    return { title, body: "Not measured: GNU time is not installed (`apt-get install time`)." };
  }
  for (const tool of ctx.tools) {
    await measurePipeline(ctx, tool, HEADLINE_STAGES, ["full", "no-op"]);
  }
  const rows = (["Pivot", "make", "Snakemake"] as const).map((name) => {
    const get = (kind: "full" | "no-op") =>
      ctx.absent.get(name) ?? ctx.pipelineRuns.get(pipelineKey(name, HEADLINE_STAGES, kind));
    return [name, rssCell(get("full")), rssCell(get("no-op"))];
  });
  const body = [
    "Maximum resident set size as GNU time's `%M` reports it: the kernel's `ru_maxrss`, the " +
    "largest single process among the command and the children it waited for, not their " +
    "sum (for make, the largest of make and the shells it starts).",
    "",
    table(["Tool", "Full run", "No-op run"], rows),
  ];
  return { title, body: body.join("\n") };
}
