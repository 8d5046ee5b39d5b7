/**
 * Turning stage names on the command line into stages.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { StageGraph } from "../graph/graph.ts";
import type { StageDef } from "../pipeline/stage_def.ts";

function globToRegExp(pattern: string): RegExp {
  const escaped = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${escaped}$`);
}

function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let previous = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const current = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, previous + (a[i - 1] === b[j - 1] ? 0 : 1));
      previous = current;
    }
  }
  return row[b.length];
}

/**
 * The stages named by `names` (exact names, or globs such as `train@*`), in
 * pipeline order. An unknown name is an error with a suggestion.
 */
export function selectStages(graph: StageGraph, names: readonly string[]): StageDef[] {
  const selected = new Set<string>();
  for (const name of names) {
    if (graph.byName.has(name)) {
      selected.add(name);
      continue;
    }
    if (/[*?]/.test(name)) {
      const pattern = globToRegExp(name);
      const matches = graph.order.filter((s) => pattern.test(s.name));
      if (matches.length > 0) {
        for (const stage of matches) selected.add(stage.name);
        continue;
      }
    }
    const known = graph.order.map((s) => s.name);
    const best = known
      .map((k) => [k, distance(name, k)] as const)
      .sort((a, b) => a[1] - b[1])[0];
    const hint = best && best[1] <= Math.max(2, Math.floor(name.length / 3))
      ? `did you mean '${best[0]}'?`
      : `run 'pivot list' to see the stages`;
    throw new PivotError(`unknown stage '${name}': ${hint}`);
  }
  return graph.order.filter((s) => selected.has(s.name));
}
