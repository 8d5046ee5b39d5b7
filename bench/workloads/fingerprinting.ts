/**
 * Workload 4: fingerprinting a 176-stage pipeline over 40 modules, cold and
 * warm. The measurement itself is `bench/fingerprint.ts` (written with the
 * fingerprint engine); this workload runs it when it exists and quotes what
 * it prints, and reports "pending" until then.
 *
 * @module
 */

import type { BenchContext } from "../_context.ts";
import { progress, summarizeFailure, timeCommand } from "../_measure.ts";
import type { Section } from "../_report.ts";
import { REPO } from "../_tools.ts";

/** Run `bench/fingerprint.ts`, if present, and quote its output. */
export async function fingerprintingWorkload(ctx: BenchContext): Promise<Section> {
  const title = "4. Fingerprinting (176 stages over 40 modules)";
  const script = `${REPO}/bench/fingerprint.ts`;
  const exists = await Deno.stat(script).then(() => true, () => false);
  if (!exists) {
    return {
      title,
      body: "Pending: `bench/fingerprint.ts` does not exist yet. Targets: cold ≤ 1 s, " +
        "warm ≤ 50 ms. The pipeline layout is `generatePipeline(dir, { stages: 176, " +
        "modules: 40 })` of `bench/gen_pipeline.ts`.",
    };
  }
  progress("fingerprinting: deno run -A bench/fingerprint.ts");
  const run = await timeCommand(
    [Deno.execPath(), "run", "-A", script],
    {
      cwd: REPO,
      // Hints the script may use; it is called without arguments.
      env: {
        PIVOT_BENCH_REPS: String(ctx.options.reps),
        PIVOT_BENCH_WORK: `${ctx.options.workDir}/fingerprint`,
      },
    },
  );
  if (run.code !== 0) {
    return {
      title,
      body: `\`bench/fingerprint.ts\` failed (exit ${run.code}): ${
        summarizeFailure(run.stderr, run.stdout)
      }`,
    };
  }
  const output = run.stdout.trim();
  // Rows look like "cold       364.9       432.6 …": case, then the call's ms.
  for (const line of output.split("\n")) {
    const match = /^(cold|warm)\s+([\d.]+)/.exec(line.trim());
    if (match && !ctx.figures.has(`fingerprint ${match[1]}`)) {
      ctx.figures.set(`fingerprint ${match[1]}`, Number(match[2]));
    }
  }
  // Markdown (a table or headed text) is quoted as is; anything else verbatim.
  const markdown = /^(\||#|-|\*)/m.test(output);
  return {
    title,
    body: "Output of `deno run -A bench/fingerprint.ts`:\n\n" +
      (markdown ? output : "```\n" + output + "\n```"),
  };
}
