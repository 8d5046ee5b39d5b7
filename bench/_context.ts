/**
 * What every workload shares: the options of this run, the tools that can
 * run here, and the pipeline measurements made so far (the scaling and
 * memory workloads reuse the 176-stage figures instead of measuring twice).
 *
 * @module
 */

import type { Measurement, Missing } from "./_measure.ts";
import type { Tool, ToolName } from "./_tools.ts";

/** Options of one benchmark run, from the command line. */
export interface BenchOptions {
  /** Counted repetitions of a fast measurement (Pivot, make, hashing). */
  reps: number;
  /** Counted full and input-changed runs of Snakemake (about 111 s each at 176 stages). */
  snakemakeReps: number;
  /** Largest scaling size at which Snakemake runs (its per-stage cost grows with N). */
  snakemakeMaxStages: number;
  /** Scaling sizes. */
  sizes: number[];
  /** Where generated projects and big files go (git-ignored). */
  workDir: string;
  /** `--quick`: smaller sizes where a workload has them. */
  quick: boolean;
  /** Stage counts of the large-pipeline workload (issue 16). */
  stageSizes: number[];
  /** Files in the big directory of the `bigdir` workload. */
  files: number;
  /** Size in bytes of the re-hashed file of the `rehash` workload. */
  rehashBytes: number;
  /** Size in bytes of the out that is also a dep, in the `reads` workload. */
  readsBytes: number;
}

/** One row of the issue 16 targets table: figure, target, Pivot, met, peers. */
export type TargetRow = [figure: string, target: string, pivot: string, met: string, peers: string];

/** The cases of a pipeline measurement. */
export type PipelineCase =
  | "full"
  | "full, user cache off"
  | "no-op"
  | "input changed"
  | "helper changed"
  | "status"
  | "list";

/** The options, the usable tools and the measurements of this run. */
export interface BenchContext {
  /** Options. */
  readonly options: BenchOptions;
  /** Tools that can run, in table order. */
  readonly tools: readonly Tool[];
  /** Why a tool is left out ("skipped by --no-snakemake", "pivot: not available …"). */
  readonly absent: ReadonlyMap<ToolName, Missing>;
  /** Pipeline measurements, by {@link pipelineKey}. */
  readonly pipelineRuns: Map<string, Measurement>;
  /** Hashing measurements, by hasher (`pivot`, `xxhsum`, `md5sum`, `cat`). */
  readonly hashRuns: Map<string, Measurement>;
  /**
   * Single figures read from self-timing scripts, in ms: `fingerprint cold`,
   * `fingerprint warm`, `watch data`, `watch code`, `watch new code`.
   */
  readonly figures: Map<string, number>;
  /** Pivot at `--baseline REF`, timed in alternation with this checkout's; else undefined. */
  readonly baseline: Tool | undefined;
  /** Rows of the issue 16 targets table, added by the workloads that measure them. */
  readonly targets16: TargetRow[];
}

/** Key of a pipeline measurement: tool, stage count and case. */
export function pipelineKey(tool: ToolName, stages: number, kind: PipelineCase): string {
  return `${tool}:${stages}:${kind}`;
}
