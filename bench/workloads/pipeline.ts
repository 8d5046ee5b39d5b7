/**
 * Workload 1: the 176-stage pipeline (the size of Python Pivot's headline
 * pipeline), run by Pivot, make and Snakemake: full run, no-op run, one input
 * changed, one shared helper changed.
 *
 * @module
 */

import { type BenchContext, type PipelineCase, pipelineKey } from "../_context.ts";
import { progress } from "../_measure.ts";
import { ratio, type Section, table, wallCell } from "../_report.ts";
import type { ToolName } from "../_tools.ts";
import { measurePipeline } from "./_pipeline_runs.ts";
import { codeTriggerTable, observeCodeTrigger } from "./code_trigger.ts";

/** Stages of the headline pipeline. */
export const HEADLINE_STAGES = 176;

const CASES = [
  "full",
  "full, user cache off",
  "no-op",
  "input changed",
  "helper changed",
] as const satisfies readonly PipelineCase[];

const CASE_TEXT: Record<typeof CASES[number], string> = {
  "full": "full run (no outputs, no state; user-global analysis cache warm)",
  "full, user cache off": "full run, user cache off (`PIVOT_USER_CACHE=off`: every module parsed)",
  "no-op": "no-op run (everything up to date)",
  "input changed": "`data/in_0.txt` changed (all 176 stages re-run)",
  "helper changed": "shared helper `combine` changed (all 176 stages must re-run)",
};

/** Measure every tool, then report. */
export async function pipelineWorkload(ctx: BenchContext): Promise<Section> {
  for (const tool of ctx.tools) await measurePipeline(ctx, tool, HEADLINE_STAGES, CASES);
  const get = (tool: ToolName, kind: PipelineCase) =>
    ctx.pipelineRuns.get(pipelineKey(tool, HEADLINE_STAGES, kind)) ?? ctx.absent.get(tool);
  const rows = CASES.map((kind) => {
    // Peers have one full run: Pivot's with the user cache off is set beside it too.
    const peerKind = kind === "full, user cache off" ? "full" : kind;
    const peer = (tool: ToolName) =>
      kind === "helper changed" && !ctx.absent.has(tool)
        ? "cannot detect: nothing re-runs (see below)"
        : wallCell(get(tool, peerKind));
    const helperRatio = (tool: ToolName) =>
      kind === "helper changed" ? "—" : ratio(
        get("Pivot", kind),
        get(tool, peerKind),
      );
    return [
      CASE_TEXT[kind],
      wallCell(get("Pivot", kind)),
      peer("make"),
      peer("Snakemake"),
      helperRatio("make"),
      helperRatio("Snakemake"),
    ];
  });

  let trigger: string;
  if (ctx.tools.some((tool) => tool.name === "Snakemake")) {
    progress("Snakemake code-trigger check");
    try {
      trigger = codeTriggerTable(await observeCodeTrigger(ctx.options.workDir));
    } catch (error) {
      trigger = `The check failed: ${(error as Error).message}`;
    }
  } else {
    trigger = "Not checked in this run (Snakemake skipped or not installed).";
  }

  const body = [
    `Stage i reads the outputs of stages i-1 and i-2 (stages 0 and 1 read raw inputs) and ` +
    `writes one small file; make and Snakemake run the Makefile and Snakefile of ` +
    "`bench/gen_peers.py`, Pivot the `pipeline.ts` of `bench/gen_pipeline.ts` (same shape, " +
    'same arithmetic). Every run\'s last output is checked against the expected value; "ran N" ' +
    "is the number of stages the tool itself reports having run (make does not say). " +
    "Ratios are Pivot ÷ peer: below 1× Pivot is faster. Pivot's full run takes its module " +
    "analyses from the user-global cache (`~/.cache/pivot/analyses`, docs/fingerprinting.md) " +
    "that the uncounted warm-up filled, as another clone, a CI job with a restored cache or " +
    "`rm -rf .pivot` would; the row below it turns that cache off (TypeScript loaded, every " +
    "module parsed), as a first run on a new machine. Before each full run every tool's " +
    "previous outputs and state are renamed aside, not deleted (deleted when the bench ends): " +
    "on this disk (ext4 without a journal) a create scans past every inode freed in the last " +
    "minutes, so a run right after deleting the last one's files measures the kernel's " +
    "allocator, and charges most the tool that makes more files (Pivot: the out, its cache " +
    "object and the lock file; make: the out). A no-op is timed after two uncounted " +
    "ones: the first after a run verifies what ran, the second writes the record of a " +
    "verified no-op that answers the next ones, the steady state timed here.",
    "",
    table(["Case", "Pivot", "make", "Snakemake", "Pivot ÷ make", "Pivot ÷ Snakemake"], rows),
    "",
    "**Who can detect a helper change.** make compares file times of declared prerequisites " +
    "only; it does not look at code, so an edited helper re-runs nothing unless the user lists " +
    "the code file by hand as a prerequisite of every rule. Snakemake's code trigger hashes a " +
    "rule's own `run:` block only. Checked on this machine's Snakemake with a two-rule " +
    "Snakefile (`bench/workloads/code_trigger.ts`), each edit followed by a dry run:",
    "",
    trigger,
  ];
  return { title: `1. ${HEADLINE_STAGES}-stage pipeline`, body: body.join("\n") };
}
