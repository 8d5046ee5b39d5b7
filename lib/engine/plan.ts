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
import type { Decision } from "./decide.ts";
import { verifiedDecision } from "./verified_decision.ts";
import { type Verified, verifiedIndexOf } from "./verified.ts";
import { mark } from "../trace.ts";

/** Options of {@link predict}. */
export interface PredictOptions {
  /**
   * Hashes that deps missing from the workspace are taken to have (by
   * project-relative path): for `verify --allow-missing`, data recorded but
   * not present counts as what was recorded.
   */
  readonly assumed?: ReadonlyMap<string, Hash>;
  /**
   * A stage that would run only because its outs are missing (and not in the
   * cache) does not make its downstream stages run (`verify --allow-missing`).
   */
  readonly missingOutsOk?: boolean;
}

/** Decisions for `stages` (topological order), as a wave would make them now. */
export async function predict(
  context: EngineContext,
  stages: readonly StageDef[],
  force: ReadonlySet<string>,
  options: PredictOptions = {},
): Promise<Decision[]> {
  const willRun = new Set<string>();
  const restored = new Map<string, Hash>(options.assumed ?? []);
  const decisions: Decision[] = [];
  // Nothing is written while predicting: what the verified index shows up to
  // date now holds for the whole prediction.
  const index = await verifiedIndexOf(context.state);
  // The session's check of every stage, made just now, when it opened from the load cache.
  const verified = (force.size === 0 ? index.peekRecent(context) : undefined) ??
    index.check(context, stages.filter((stage) => !force.has(stage.name)));
  mark(`predict: ${verified.size} of ${stages.length} stages verified`);
  // Verified stages whose locked outs are not yet in `restored`: only a decision reads it,
  // so a prediction of verified stages only never builds it.
  const unrestored: [StageDef, Verified][] = [];
  for (const stage of stages) {
    let upstreamWillRun = false;
    // Until a stage will run, none upstream will: the edges are not read (a graph
    // from the load cache makes them when first read).
    if (willRun.size > 0) {
      for (const name of context.graph.upstream.get(stage.name) ?? []) {
        if (willRun.has(name)) upstreamWillRun = true;
      }
    }
    const known = upstreamWillRun ? undefined : verified.get(stage.name);
    if (known === undefined) {
      for (const [done, { outs }] of unrestored.splice(0)) {
        done.outs.forEach((out, i) => restored.set(out.path, outs[i].hash));
      }
    }
    const decision = known !== undefined
      ? verifiedDecision(context, stage, known)
      : await (await import("./decide.ts")).decide(context, stage, {
        forced: force.has(stage.name),
        upstreamWillRun,
        restoredOuts: restored,
      });
    decisions.push(decision);
    const onlyOutsMissing = decision.reasons.length === 1 && decision.reasons[0] === "outs-missing";
    if (decision.status === "will-run" && !(options.missingOutsOk && onlyOutsMissing)) {
      willRun.add(stage.name);
    } else if (known !== undefined) {
      // The locked outs, without building the decision's lock, when a decision needs them.
      unrestored.push([stage, known]);
    } else {
      for (const out of decision.lock?.outs ?? []) restored.set(out.path, out.hash);
    }
  }
  index.save(context);
  return decisions;
}

/**
 * Decisions for `shown` only, predicted with everything upstream of them
 * (a stage below one that will run is reported with reason `upstream`).
 */
export async function predictStatus(
  context: EngineContext,
  shown: readonly StageDef[],
  options: PredictOptions = {},
): Promise<Decision[]> {
  const wanted = new Set(shown.map((s) => s.name));
  // Every stage shown: they are their own upstream closure (no edge read).
  const { order } = context.graph;
  const considered = wanted.size === order.length
    ? [...order]
    : withUpstream(context.graph, shown.map((s) => s.name));
  return (await predict(context, considered, new Set(), options))
    .filter((d) => wanted.has(d.stage.name));
}
