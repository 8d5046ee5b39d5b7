/**
 * Tables on the command line, shared by `params show|diff` and
 * `metrics show|diff`: an aligned plain-text table, a Markdown table
 * (`--md`), values as cells, floats rounded to `--precision N` decimals, and
 * JSON that survives NaN and Infinity. One implementation, so the commands
 * look and round alike.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { isPlainObject } from "../flatten.ts";

/** Output formats: plain text, Markdown (`--md`), JSON (`--json`). */
export type TableFormat = "text" | "md" | "json";

/**
 * `precision` when it is a whole number from 0 to 20 (or undefined: values
 * as they are).
 *
 * @throws {PivotError} otherwise.
 *
 * @example
 * ```ts
 * checkPrecision(3); // 3
 * ```
 */
export function checkPrecision(precision: number | undefined): number | undefined {
  if (
    precision === undefined || (Number.isInteger(precision) && precision >= 0 && precision <= 20)
  ) {
    return precision;
  }
  throw new PivotError(`--precision must be a whole number from 0 to 20, got ${precision}`);
}

/**
 * A table of `rows` under `header`: columns aligned with two spaces between
 * them (`text`), or a Markdown table (`md`, with `|` in cells escaped).
 * Ends with a newline.
 *
 * @example
 * ```ts
 * formatTable(["Key", "Value"], [["epochs", "10"]], "text"); // "Key     Value\nepochs  10\n"
 * ```
 */
export function formatTable(header: string[], rows: string[][], format: "text" | "md"): string {
  if (format === "md") {
    const line = (cells: string[]) =>
      `| ${cells.map((cell) => cell.replaceAll("|", "\\|")).join(" | ")} |`;
    return [line(header), line(header.map(() => "---")), ...rows.map(line)].join("\n") + "\n";
  }
  const widths = header.map((title, column) =>
    Math.max(title.length, ...rows.map((row) => row[column].length))
  );
  const line = (cells: string[]) =>
    cells.map((cell, column) => cell.padEnd(widths[column])).join("  ").trimEnd();
  return [line(header), ...rows.map(line)].join("\n") + "\n";
}

/**
 * A value as a table cell: strings as they are (quoted when they hold line
 * breaks or tabs), numbers rounded to `precision`, others as compact JSON,
 * `-` when absent (`undefined`).
 *
 * @example
 * ```ts
 * formatCell(0.123456, 2); // "0.12"
 * formatCell(undefined, undefined); // "-"
 * ```
 */
export function formatCell(value: unknown, precision: number | undefined): string {
  if (value === undefined) return "-";
  const rounded = roundFloats(value, precision);
  if (typeof rounded === "string") {
    // A string with line breaks or tabs would break the table: show it quoted.
    return /[\n\r\t]/.test(rounded) ? JSON.stringify(rounded) : rounded;
  }
  if (typeof rounded === "number") return String(rounded);
  return JSON.stringify(rounded, jsonReplacer) ?? String(rounded);
}

/**
 * Round every non-integer number in `value` (deeply) to `precision`
 * decimals; trailing zeros are not added. Undefined `precision`: `value` as
 * it is.
 *
 * @example
 * ```ts
 * roundFloats({ a: 0.126, b: [1.5] }, 1); // { a: 0.1, b: [1.5] }
 * ```
 */
export function roundFloats(value: unknown, precision: number | undefined): unknown {
  if (precision === undefined) return value;
  if (typeof value === "number") {
    return Number.isFinite(value) && !Number.isInteger(value)
      ? Number(value.toFixed(precision))
      : value;
  }
  if (Array.isArray(value)) return value.map((item) => roundFloats(item, precision));
  if (isPlainObject(value)) {
    const result: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) result[key] = roundFloats(item, precision);
    return result;
  }
  return value;
}

/**
 * A `JSON.stringify` replacer: JSON has no NaN or Infinity (YAML does), so
 * they are written as strings rather than `null`.
 *
 * @example
 * ```ts
 * JSON.stringify({ loss: NaN }, jsonReplacer); // '{"loss":"NaN"}'
 * ```
 */
export function jsonReplacer(_key: string, value: unknown): unknown {
  return typeof value === "number" && !Number.isFinite(value) ? String(value) : value;
}
