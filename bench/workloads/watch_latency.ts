/**
 * Workload 7: watch-mode latency, from a file save to the affected stage
 * starting, debounce subtracted (issue 4's target: under 100 ms). The
 * measurement is `bench/watch_latency.ts`; this workload runs it and quotes
 * its table.
 *
 * @module
 */

import type { BenchContext } from "../_context.ts";
import { progress, summarizeFailure, timeCommand } from "../_measure.ts";
import type { Section } from "../_report.ts";
import { REPO } from "../_tools.ts";

/** Run `bench/watch_latency.ts` and quote its output. */
export async function watchLatencyWorkload(ctx: BenchContext): Promise<Section> {
  const title = "7. Watch latency (save → stage start, debounce subtracted)";
  progress("watch latency: deno run -A bench/watch_latency.ts");
  const run = await timeCommand([Deno.execPath(), "run", "-A", `${REPO}/bench/watch_latency.ts`], {
    cwd: REPO,
    env: { PIVOT_BENCH_REPS: String(Math.max(ctx.options.reps, 5)) },
  });
  if (run.code !== 0) {
    return {
      title,
      body: `\`bench/watch_latency.ts\` failed (exit ${run.code}): ${
        summarizeFailure(run.stderr, run.stdout)
      }`,
    };
  }
  const output = run.stdout.trim();
  for (const line of output.split("\n")) {
    const match = /^\| (data|code|new code) [^|]*\| (\d+) ms/.exec(line);
    if (match) ctx.figures.set(`watch ${match[1]}`, Number(match[2]));
  }
  return { title, body: "Output of `deno run -A bench/watch_latency.ts`:\n\n" + output };
}
