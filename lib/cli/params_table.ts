/**
 * The formatting half of `pivot params show` and `pivot params diff`: given
 * each stage's params (and, for a diff, the old ones), render a plain text
 * table, a Markdown table (`--md`) or JSON (`--json`), with floats rounded to
 * `--precision N` decimals. Shapes are documented in docs/params.md.
 *
 * Tables show nested params flattened to dotted keys (`optimizer.lr`);
 * `show --json` keeps them nested, as the stage receives them. The table
 * itself is `table.ts`'s, shared with `metrics show|diff`.
 *
 * @module
 */

import { flattenKeys, sameValue } from "../flatten.ts";
import {
  checkPrecision,
  formatCell,
  formatTable,
  jsonReplacer,
  roundFloats,
  type TableFormat,
} from "./table.ts";

export type { TableFormat };

/** Param values of each stage, by stage name, in the order to show them. */
export type StageParams = Readonly<Record<string, Readonly<Record<string, unknown>>>>;

/** How a param differs between old and new. */
export type ParamChangeKind = "added" | "removed" | "modified";

/** One changed param. */
export interface ParamChange {
  /** Stage name. */
  readonly stage: string;
  /** Param key, dotted for nested params (`optimizer.lr`). */
  readonly key: string;
  /** The old value; `undefined` when the param is new. */
  readonly old: unknown;
  /** The new value; `undefined` when the param is gone. */
  readonly new: unknown;
  /** Added, removed or modified. */
  readonly change: ParamChangeKind;
}

/** Options of {@link formatParamsShow} and {@link formatParamsDiff}. */
export interface ParamsTableOptions {
  /** Output format (default `text`). */
  format?: TableFormat;
  /**
   * Round non-integer numbers to this many decimals (`--precision N`, 0 to
   * 20), in every format; trailing zeros are not added. Default: values as
   * they are.
   */
  precision?: number;
}

/**
 * Flatten nested params to dotted keys: `{ opt: { lr: 1 } }` gives
 * `{ "opt.lr": 1 }`. Arrays are values, not flattened; an empty object stays
 * a value (`{}`) so that it is not lost. (Metrics flatten the same way:
 * {@link flattenKeys}.)
 *
 * @example
 * ```ts
 * flattenParams({ epochs: 10, opt: { lr: 0.1 } }); // { epochs: 10, "opt.lr": 0.1 }
 * ```
 */
export function flattenParams(params: Readonly<Record<string, unknown>>): Record<string, unknown> {
  return flattenKeys(params);
}

/**
 * The params that differ between `old` (at git HEAD or `--rev`) and
 * `current` (the workspace), compared key by key after flattening. Stages
 * come in the order of `current`, then stages only in `old`; keys likewise.
 * A change of type (`1` to `"1"`) is a change.
 *
 * @example
 * ```ts
 * diffParams({ train: { epochs: 10 } }, { train: { epochs: 20 } });
 * // [{ stage: "train", key: "epochs", old: 10, new: 20, change: "modified" }]
 * ```
 */
export function diffParams(old: StageParams, current: StageParams): ParamChange[] {
  const changes: ParamChange[] = [];
  for (const stage of union(Object.keys(current), Object.keys(old))) {
    const before = Object.hasOwn(old, stage) ? flattenParams(old[stage]) : {};
    const after = Object.hasOwn(current, stage) ? flattenParams(current[stage]) : {};
    for (const key of union(Object.keys(after), Object.keys(before))) {
      const had = Object.hasOwn(before, key);
      const has = Object.hasOwn(after, key);
      if (had && has && sameValue(before[key], after[key])) continue;
      changes.push({
        stage,
        key,
        old: had ? before[key] : undefined,
        new: has ? after[key] : undefined,
        change: !had ? "added" : !has ? "removed" : "modified",
      });
    }
  }
  return changes;
}

/**
 * Render `pivot params show`. Text and Markdown: one row per stage and
 * (dotted) key, columns Stage, Key, Value. JSON:
 * `{"params": {"train": {"epochs": 10, "opt": {"lr": 0.1}}}}`, nested.
 *
 * @throws {PivotError} for a precision that is not a whole number from 0 to 20.
 *
 * @example
 * ```ts
 * formatParamsShow({ train: { epochs: 10 } }, { format: "md" });
 * // "| Stage | Key | Value |\n| --- | --- | --- |\n| train | epochs | 10 |\n"
 * ```
 */
export function formatParamsShow(params: StageParams, options: ParamsTableOptions = {}): string {
  const precision = checkPrecision(options.precision);
  if (options.format === "json") {
    const rounded: Record<string, unknown> = {};
    for (const [stage, values] of Object.entries(params)) {
      rounded[stage] = roundFloats(values, precision);
    }
    return JSON.stringify({ params: rounded }, jsonReplacer, 2) + "\n";
  }
  const rows: string[][] = [];
  for (const [stage, values] of Object.entries(params)) {
    for (const [key, value] of Object.entries(flattenParams(values))) {
      rows.push([stage, key, formatCell(value, precision)]);
    }
  }
  if (rows.length === 0) return "No params.\n";
  return formatTable(["Stage", "Key", "Value"], rows, options.format ?? "text");
}

/**
 * Render `pivot params diff` from {@link diffParams}' changes. Text and
 * Markdown: columns Stage, Key, Old, New, Change (`-` for an absent value).
 * JSON: `{"diff": [{"stage", "key", "old", "new", "change"}]}`, `null` for an
 * absent value (`change` tells an absent value from a real `null`).
 *
 * @throws {PivotError} for a precision that is not a whole number from 0 to 20.
 *
 * @example
 * ```ts
 * formatParamsDiff(diffParams(old, current), { format: "json", precision: 3 });
 * ```
 */
export function formatParamsDiff(
  changes: readonly ParamChange[],
  options: ParamsTableOptions = {},
): string {
  const precision = checkPrecision(options.precision);
  if (options.format === "json") {
    const diff = changes.map((change) => ({
      stage: change.stage,
      key: change.key,
      old: change.old === undefined ? null : roundFloats(change.old, precision),
      new: change.new === undefined ? null : roundFloats(change.new, precision),
      change: change.change,
    }));
    return JSON.stringify({ diff }, jsonReplacer, 2) + "\n";
  }
  if (changes.length === 0) return "No param changes.\n";
  const rows = changes.map((change) => [
    change.stage,
    change.key,
    formatCell(change.old, precision),
    formatCell(change.new, precision),
    change.change,
  ]);
  return formatTable(["Stage", "Key", "Old", "New", "Change"], rows, options.format ?? "text");
}

function union(first: readonly string[], second: readonly string[]): string[] {
  return [...new Set([...first, ...second])];
}
