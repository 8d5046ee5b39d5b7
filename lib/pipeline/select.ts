/**
 * Stage selection: the `STAGES` arguments of `pivot repro`, `status`, `params
 * show` and friends, matched against the pipeline's stage names.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { closestMatch } from "../suggest.ts";

/**
 * The stages that `patterns` select, in pipeline order (the order of
 * `stageNames`), each once. A pattern is:
 *
 * - an exact name: `train`, `train@small_test`;
 * - a base name with no stage of its own: all its variants (`train` selects
 *   `train@small` and `train@large`);
 * - a glob, where `*` matches any run of characters and `?` one character:
 *   `train@*` selects every variant of `train`.
 *
 * No patterns select every stage.
 *
 * @throws {PivotError} for a pattern that selects nothing, with a suggestion
 * when a name is close: `unknown stage 'trian': did you mean 'train'?`.
 *
 * @example
 * ```ts
 * matchStageNames(["train@*"], ["prep", "train@a", "train@b"]); // ["train@a", "train@b"]
 * ```
 */
export function matchStageNames(
  patterns: readonly string[],
  stageNames: readonly string[],
): string[] {
  if (patterns.length === 0) return [...new Set(stageNames)];
  const selected = new Set<string>();
  for (const pattern of patterns) {
    for (const name of match(pattern, stageNames)) selected.add(name);
  }
  return [...new Set(stageNames)].filter((name) => selected.has(name));
}

function match(pattern: string, stageNames: readonly string[]): string[] {
  if (pattern === "") throw new PivotError("empty stage name: name a stage or a pattern (train@*)");
  if (stageNames.includes(pattern)) return [pattern];
  if (/[*?]/.test(pattern)) {
    const regex = globToRegExp(pattern);
    const matches = stageNames.filter((name) => regex.test(name));
    if (matches.length > 0) return matches;
    throw new PivotError(`pattern '${pattern}' matches no stage${hint(pattern, stageNames)}`);
  }
  const variants = stageNames.filter((name) => baseNameOf(name) === pattern);
  if (variants.length > 0) return variants;
  throw new PivotError(`unknown stage '${pattern}'${hint(pattern, stageNames)}`);
}

/** `: did you mean 'x'?`, or a pointer to `pivot list` when nothing is close. */
function hint(pattern: string, stageNames: readonly string[]): string {
  const fallback = stageNames.length === 0
    ? ": the pipeline has no stages"
    : ": run 'pivot list' to see the stages";
  const at = pattern.indexOf("@");
  if (at >= 0 && /[*?]/.test(pattern.slice(at))) {
    if (stageNames.includes(pattern.slice(0, at))) {
      return `: stage '${pattern.slice(0, at)}' has no variants`;
    }
    // `trian@*`: the base name is what is misspelt; suggest it with the same variant pattern.
    const bases = new Set(stageNames.filter((name) => name.includes("@")).map(baseNameOf));
    const base = closestMatch(pattern.slice(0, at), bases);
    return base === undefined ? fallback : `: did you mean '${base}${pattern.slice(at)}'?`;
  }
  const candidates = new Set([...stageNames, ...stageNames.map(baseNameOf)]);
  const close = closestMatch(pattern, candidates);
  return close === undefined ? fallback : `: did you mean '${close}'?`;
}

function baseNameOf(name: string): string {
  const at = name.indexOf("@");
  return at < 0 ? name : name.slice(0, at);
}

function globToRegExp(pattern: string): RegExp {
  const source = pattern.replace(/[.+^${}()|[\]\\]/g, "\\$&").replace(/\*/g, ".*").replace(
    /\?/g,
    ".",
  );
  return new RegExp(`^${source}$`);
}
