/**
 * Workload 2: the same pipeline shape at 44, 176 and 704 stages. Reports the
 * per-stage overhead of a full run (full time ÷ N), the total no-op time,
 * and how flat the per-stage overhead stays (largest size ÷ smallest).
 *
 * @module
 */

import { type BenchContext, pipelineKey } from "../_context.ts";
import { measured, type Measurement } from "../_measure.ts";
import { millis, missingText, type Section, spread, table, times, wallCell } from "../_report.ts";
import type { Tool } from "../_tools.ts";
import { measurePipeline } from "./_pipeline_runs.ts";

/** Measure every tool at every size, then report. */
export async function scalingWorkload(ctx: BenchContext): Promise<Section> {
  const { sizes, snakemakeMaxStages } = ctx.options;
  const runsAt = (tool: Tool, n: number) => tool.cheapFullRun || n <= snakemakeMaxStages;
  for (const tool of ctx.tools) {
    for (const n of sizes) {
      if (runsAt(tool, n)) await measurePipeline(ctx, tool, n, ["full", "no-op"]);
    }
  }
  const rows: string[][] = [];
  const flatness: string[][] = [];
  for (const name of ["Pivot", "make", "Snakemake"] as const) {
    const tool = ctx.tools.find((t) => t.name === name);
    const perStage = new Map<number, number>();
    for (const n of sizes) {
      const get = (kind: "full" | "no-op"): Measurement | undefined =>
        ctx.absent.get(name) ??
          (tool && !runsAt(tool, n)
            ? { skipped: `above --snakemake-max-stages ${snakemakeMaxStages}` }
            : ctx.pipelineRuns.get(pipelineKey(name, n, kind)));
      const full = get("full");
      let overhead = full && !measured(full) ? missingText(full) : "—";
      if (measured(full)) {
        const s = full.wall;
        overhead = spread({ ...s, median: s.median / n, min: s.min / n, max: s.max / n }, millis);
        perStage.set(n, s.median / n);
      }
      rows.push([name, String(n), wallCell(full), overhead, wallCell(get("no-op"))]);
    }
    const [small, large] = [sizes[0], sizes.at(-1)!];
    const a = perStage.get(small);
    const b = perStage.get(large);
    const absent = ctx.absent.get(name);
    flatness.push([
      name,
      a !== undefined && b !== undefined
        ? times(b / a)
        : absent && !measured(absent)
        ? missingText(absent)
        : "not measured at both sizes",
    ]);
  }
  const body = [
    "Per-stage overhead is the full run's median ÷ N. Flatness is the per-stage overhead at the " +
    `largest size ÷ at the smallest (target for Pivot: within 1.5×). Snakemake runs up to ` +
    `${snakemakeMaxStages} stages (\`--snakemake-max-stages\`): its time per job grows with ` +
    "the pipeline (0.7 s a job at 44 stages; one 704-stage full run took 925 s, 1.3 s a job, " +
    "on this machine on 2026-11-23), so 704 stages add a quarter of an hour.",
    "",
    table(["Tool", "Stages", "Full run", "Per stage", "No-op"], rows),
    "",
    table([`Per-stage overhead, ${sizes.at(-1)} ÷ ${sizes[0]} stages`, "Factor"], flatness),
  ];
  return { title: "2. Scaling", body: body.join("\n") };
}
