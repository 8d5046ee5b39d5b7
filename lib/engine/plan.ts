/**
 * Predicting what a wave would do, without doing it: for `status`,
 * `repro --dry-run` and `repro --explain`. Stages are decided in topological
 * order; a stage below one that will run is predicted to run ("upstream"),
 * and a dep that an up-to-date upstream stage will restore is taken at its
 * locked hash.
 *
 * @module
 */

import { withUpstream } from "../graph/graph.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { Hash } from "../storage/hash.ts";
import type { EngineContext } from "./context.ts";
import { decide, type Decision } from "./decide.ts";

/** Decisions for `stages` (topological order), as a wave would make them now. */
export async function predict(
  context: EngineContext,
  stages: readonly StageDef[],
  force: ReadonlySet<string>,
): Promise<Decision[]> {
  const willRun = new Set<string>();
  const restored = new Map<string, Hash>();
  const decisions: Decision[] = [];
  for (const stage of stages) {
    const upstream = context.graph.upstream.get(stage.name) ?? new Set<string>();
    const decision = await decide(context, stage, {
      forced: force.has(stage.name),
      upstreamWillRun: [...upstream].some((name) => willRun.has(name)),
      restoredOuts: restored,
    });
    decisions.push(decision);
    if (decision.status === "will-run") willRun.add(stage.name);
    else {
      for (const out of decision.lock?.outs ?? []) restored.set(out.path, out.hash);
    }
  }
  return decisions;
}

/**
 * Decisions for `shown` only, predicted with everything upstream of them
 * (a stage below one that will run is reported with reason `upstream`).
 */
export async function predictStatus(
  context: EngineContext,
  shown: readonly StageDef[],
): Promise<Decision[]> {
  const considered = withUpstream(context.graph, shown.map((s) => s.name));
  const wanted = new Set(shown.map((s) => s.name));
  return (await predict(context, considered, new Set())).filter((d) => wanted.has(d.stage.name));
}
