/**
 * Turning stage names on the command line into stages.
 *
 * @module
 */

import { type StageGraph, withUpstream } from "../graph/graph.ts";
import type { StageDef } from "../model/stage_def.ts";
import { matchStageNames } from "../pipeline/select.ts";

/**
 * The stages named by `names` (exact names, base names of variants, or globs
 * such as `train@*`), in pipeline order. An unknown name is an error with a
 * suggestion.
 */
export function selectStages(graph: StageGraph, names: readonly string[]): StageDef[] {
  return matchStageNames(names, graph.order.map((s) => s.name)).map((name) =>
    graph.byName.get(name)!
  );
}

/** The stages named by `names` and everything upstream of them; all stages when none are named. */
export function selectWithUpstream(graph: StageGraph, names: readonly string[]): StageDef[] {
  if (names.length === 0) return [...graph.order];
  return withUpstream(graph, selectStages(graph, names).map((s) => s.name));
}
