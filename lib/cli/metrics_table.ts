/**
 * The formatting half of `pivot metrics show` and `pivot metrics diff`:
 * plain text, Markdown (`--md`) or JSON (`--json`, the shapes of SPEC §6),
 * floats rounded to `--precision N`. The tables are `table.ts`'s, shared with
 * `params show|diff`. Shapes are documented in docs/metrics.md.
 *
 * @module
 */

import type { MetricChange, MetricVersion } from "../outputs/metrics.ts";
import {
  checkPrecision,
  formatCell,
  formatTable,
  jsonReplacer,
  roundFloats,
  type TableFormat,
} from "./table.ts";

/** Options of {@link formatMetricsShow} and {@link formatMetricsDiff}. */
export interface MetricsTableOptions {
  /** Output format (default `text`). */
  readonly format?: TableFormat;
  /** Round non-integer numbers to this many decimals (0 to 20). */
  readonly precision?: number;
  /** Diff: headings of the old and new columns (`HEAD`, `workspace`); default Old, New. */
  readonly labels?: readonly [string, string];
}

/**
 * Render `pivot metrics show`. Text and Markdown: a table (Key, Value) per
 * file, headed by its path. JSON: `{"metrics": {"<path>": {"<key>": value}}}`.
 * Files not found are left out (the command warns about them).
 *
 * @throws {PivotError} for a precision that is not a whole number from 0 to 20.
 *
 * @example
 * ```ts
 * formatMetricsShow(new Map([["m.json", { found: true, values: { acc: 0.9 } }]]), { format: "json" });
 * // '{\n  "metrics": {\n    "m.json": {\n      "acc": 0.9\n    }\n  }\n}\n'
 * ```
 */
export function formatMetricsShow(
  metrics: ReadonlyMap<string, MetricVersion>,
  options: MetricsTableOptions = {},
): string {
  const precision = checkPrecision(options.precision);
  const found = [...metrics].flatMap(([path, version]) =>
    version.found ? [[path, version.values] as const] : []
  );
  if (options.format === "json") {
    const json: Record<string, unknown> = {};
    for (const [path, values] of found) json[path] = roundFloats(values, precision);
    return JSON.stringify({ metrics: json }, jsonReplacer, 2) + "\n";
  }
  if (found.length === 0) return "No metrics.\n";
  const format = options.format ?? "text";
  return found.map(([path, values]) => {
    const rows = Object.entries(values).map(([key, value]) => [key, formatCell(value, precision)]);
    const heading = format === "md" ? `**${path.replaceAll("*", "\\*")}**\n\n` : `${path}\n`;
    return heading + formatTable(["Key", "Value"], rows, format);
  }).join("\n");
}

/**
 * Render `pivot metrics diff` from `diffMetrics` rows. Text and Markdown:
 * columns Path, Key, the old and new sources (`options.labels`, such as
 * `HEAD` and `workspace`) and Change (`-` for an absent value or a change
 * that is not a number; a signed number otherwise). JSON:
 * `{"diff": [{"path", "key", "old", "new", "change"}]}`, with `null` for an
 * absent value and for a change that is not a number.
 *
 * @throws {PivotError} for a precision that is not a whole number from 0 to 20.
 *
 * @example
 * ```ts
 * formatMetricsDiff([{ path: "m.json", key: "acc", old: 0.9, new: 0.95, change: 0.05 }]);
 * // "Path    Key  Old  New   Change\nm.json  acc  0.9  0.95  +0.05\n"
 * ```
 */
export function formatMetricsDiff(
  rows: readonly MetricChange[],
  options: MetricsTableOptions = {},
): string {
  const precision = checkPrecision(options.precision);
  if (options.format === "json") {
    const diff = rows.map((row) => ({
      path: row.path,
      key: row.key,
      old: row.old === undefined ? null : roundFloats(row.old, precision),
      new: row.new === undefined ? null : roundFloats(row.new, precision),
      change: row.change === null ? null : roundFloats(row.change, precision),
    }));
    return JSON.stringify({ diff }, jsonReplacer, 2) + "\n";
  }
  if (rows.length === 0) return "No metric changes.\n";
  const cells = rows.map((row) => [
    row.path,
    row.key,
    formatCell(row.old, precision),
    formatCell(row.new, precision),
    row.change === null ? "-" : signed(roundFloats(row.change, precision) as number),
  ]);
  const [old, now] = options.labels ?? ["Old", "New"];
  return formatTable(["Path", "Key", old, now, "Change"], cells, options.format ?? "text");
}

function signed(value: number): string {
  return value > 0 ? `+${value}` : String(value);
}
