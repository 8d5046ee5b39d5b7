/**
 * Measures one tool on one generated pipeline: full run, no-op run, one input
 * changed and (Pivot only) the shared helper changed. Every run's final
 * output is checked against the expected value, so a tool that skips work it
 * should have done fails instead of looking fast.
 *
 * @module
 */

import { type BenchContext, type PipelineCase, pipelineKey } from "../_context.ts";
import { type Measurement, progress, repeat, type Run, timeCommand } from "../_measure.ts";
import { pivot, runTrash, type Tool } from "../_tools.ts";
import { expectedLastOutput, writeHelper } from "../gen_pipeline.ts";

/**
 * Uncounted no-ops before the counted ones. The first no-op after a run
 * verifies what ran and records it in the verified index; the second finds
 * every stamp holding and writes the record of a verified no-op
 * (lib/cli/noop_record.ts); from the third on, a no-op is answered from
 * that record: the steady state of a project at rest, which the no-op rows
 * time. docs/performance.md (i16-fast11) gives the first two's cost.
 */
export const NOOP_WARMUP = 2;

const ORDER: readonly PipelineCase[] = [
  "full",
  "full, user cache off",
  "no-op",
  "input changed",
  "helper changed",
];

/** Cases only this checkout's Pivot has. */
const PIVOT_ONLY: readonly PipelineCase[] = ["helper changed", "full, user cache off"];

/**
 * Measure the `wanted` cases of `tool` on a fresh `stages`-stage project and
 * record them in `ctx.pipelineRuns`; cases measured before are not repeated.
 * A case the tool cannot do (a peer's helper change) is not measured.
 */
export async function measurePipeline(
  ctx: BenchContext,
  tool: Tool,
  stages: number,
  wanted: readonly PipelineCase[],
): Promise<void> {
  const key = (kind: PipelineCase) => pipelineKey(tool.name, stages, kind);
  const missing = ORDER.filter((kind) => wanted.includes(kind) && !ctx.pipelineRuns.has(key(kind)))
    .filter((kind) => !PIVOT_ONLY.includes(kind) || tool === pivot);
  if (missing.length === 0) return;

  const dir = `${ctx.options.workDir}/pipelines/${tool.name.toLowerCase()}-${stages}`;
  // A project an earlier bench left is set aside, not deleted: this one's
  // full runs would create their files among its just-freed inodes.
  await runTrash.takeWhole(dir);
  await Deno.mkdir(dir, { recursive: true });
  await tool.generate(dir, stages);

  const slow = !tool.cheapFullRun;
  const reps = slow ? ctx.options.snakemakeReps : ctx.options.reps;
  const argv = tool.command();
  const time = { cwd: dir };
  const label = (kind: PipelineCase) => `${tool.name} ${stages} stages, ${kind}`;
  let in0 = 0;
  let revision = 0;

  const checkOutput = async (): Promise<string | undefined> => {
    const path = `${dir}/out/s${stages - 1}.txt`;
    const got = await Deno.readTextFile(path).catch(() => "(missing)");
    const want = expectedLastOutput(stages, in0, 1);
    return got === want
      ? undefined
      : `wrong output in ${path}: got ${got.trim()}, want ${want.trim()}`;
  };
  const ranNote = (expected: number) => (runs: Run[]) => {
    const counts = [...new Set(runs.map((run) => tool.ran(run)))];
    if (counts.every((c) => c === undefined)) return undefined;
    const shown = counts.map((c) => c ?? "?").join("/");
    return counts.length === 1 && counts[0] === expected
      ? `ran ${shown}`
      : `ran ${shown}, expected ${expected}`;
  };
  const record = (kind: PipelineCase, m: Measurement) => ctx.pipelineRuns.set(key(kind), m);

  if (missing.includes("full")) {
    record(
      "full",
      await repeat(argv, time, {
        label: label("full"),
        reps,
        warmup: slow ? 0 : 1,
        before: () => tool.clean(dir),
        check: checkOutput,
        note: ranNote(stages),
      }),
    );
  } else {
    // The other cases start from a complete, recorded run.
    await tool.clean(dir);
    progress(`${label("full")} (setup, not counted)`);
    const run = await timeCommand(argv, time);
    if (run.code !== 0) {
      record("full", { failed: `exit ${run.code}: ${run.stderr.trim().split("\n").at(-1)}` });
    }
  }
  if (missing.includes("full, user cache off")) {
    // The full run above takes its module analyses from the user-global
    // cache (~/.cache/pivot/analyses) that its warm-up filled; this one
    // parses every module, as a first run on a new machine does.
    record(
      "full, user cache off",
      await repeat(argv, { ...time, env: { PIVOT_USER_CACHE: "off" } }, {
        label: label("full, user cache off"),
        reps,
        warmup: 1,
        before: () => tool.clean(dir),
        check: checkOutput,
        note: ranNote(stages),
      }),
    );
  }
  const full = ctx.pipelineRuns.get(key("full"));
  if (full && !("wall" in full)) {
    for (const kind of missing.slice(1)) record(kind, { failed: "the full run failed" });
    return;
  }

  if (missing.includes("no-op")) {
    record(
      "no-op",
      await repeat(argv, time, {
        label: label("no-op"),
        reps: slow ? Math.min(ctx.options.reps, 3) : ctx.options.reps,
        warmup: NOOP_WARMUP,
        check: checkOutput,
        note: ranNote(0),
      }),
    );
  }
  if (missing.includes("input changed")) {
    record(
      "input changed",
      await repeat(argv, time, {
        label: label("input changed"),
        reps,
        warmup: slow ? 0 : 1,
        // A value never used before, so that no cache can answer.
        before: async () => await Deno.writeTextFile(`${dir}/data/in_0.txt`, `${++in0}\n`),
        check: checkOutput,
        note: ranNote(stages),
      }),
    );
  }
  if (missing.includes("helper changed")) {
    record(
      "helper changed",
      await repeat(argv, time, {
        label: label("helper changed"),
        reps,
        warmup: 1,
        before: () => writeHelper(dir, ++revision),
        check: checkOutput,
        note: ranNote(stages),
      }),
    );
  }
}
