/**
 * Workload 8: the web UI (issue 13's targets): `pivot ui` serving within
 * 1 s on the 176-stage pipeline, its first render in headless Chromium
 * under 1 s, and an engine event reaching the page within 100 ms. The
 * measurement is `bench/ui_speed.ts`; this workload runs it and quotes its
 * table.
 *
 * @module
 */

import type { BenchContext } from "../_context.ts";
import { progress, summarizeFailure, timeCommand } from "../_measure.ts";
import type { Section } from "../_report.ts";
import { REPO } from "../_tools.ts";
import { HEADLINE_STAGES } from "./pipeline.ts";

/** Run `bench/ui_speed.ts` and quote its output. */
export async function uiWorkload(ctx: BenchContext): Promise<Section> {
  const title = "9. Web UI (serving, first render, event latency)";
  const args = ["--stages", String(HEADLINE_STAGES), "--reps", String(ctx.options.reps)];
  progress(`web UI: deno run -A bench/ui_speed.ts ${args.join(" ")}`);
  const run = await timeCommand(
    [Deno.execPath(), "run", "-A", `${REPO}/bench/ui_speed.ts`, ...args],
    { cwd: REPO },
  );
  if (run.code !== 0) {
    return {
      title,
      body: `\`bench/ui_speed.ts\` failed (exit ${run.code}): ${
        summarizeFailure(run.stderr, run.stdout)
      }`,
    };
  }
  const output = run.stdout.trim();
  const figures: [RegExp, string][] = [
    [/^\| `pivot ui`: start → page served \| (\d+) ms/, "ui serving"],
    [/^\| first render: navigation → every node drawn \| (\d+) ms/, "ui first render"],
    [/^\| event latency[^|]*\| (\d+) ms/, "ui event latency"],
  ];
  for (const line of output.split("\n")) {
    for (const [pattern, key] of figures) {
      const match = pattern.exec(line);
      if (match) ctx.figures.set(key, Number(match[1]));
    }
  }
  return {
    title,
    body: `Output of \`deno run -A bench/ui_speed.ts ${args.join(" ")}\`:\n\n${output}`,
  };
}
