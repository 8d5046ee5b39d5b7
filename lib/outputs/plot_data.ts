/**
 * What a plot file holds: rows of data (CSV, TSV, JSON, JSON Lines), an
 * image shown as it is (PNG, SVG, JPEG, GIF, WebP), or an HTML page. Rows
 * are read with the same CSV parser as the loaders (`csv-parse`, imported
 * only when a CSV is read).
 *
 * @module
 */

import { PivotError } from "../errors.ts";

/** One row of plot data: column → value. */
export type PlotRow = Record<string, unknown>;

/** How a plot file is shown, by its extension. */
export type PlotFileKind = "data" | "image" | "html";

const DATA_EXTENSIONS = ["csv", "tsv", "json", "jsonl"] as const;

/** Media types of the image formats shown as they are. */
const IMAGE_TYPES: Readonly<Record<string, string>> = {
  png: "image/png",
  svg: "image/svg+xml",
  jpg: "image/jpeg",
  jpeg: "image/jpeg",
  gif: "image/gif",
  webp: "image/webp",
};

function extensionOf(path: string): string {
  const name = path.slice(path.lastIndexOf("/") + 1);
  const dot = name.lastIndexOf(".");
  return dot <= 0 ? "" : name.slice(dot + 1).toLowerCase();
}

/**
 * How the file at `path` is shown, or undefined when Pivot cannot show it
 * (an unknown extension).
 *
 * @example
 * ```ts
 * plotFileKind("eval/roc.csv"); // "data"
 * plotFileKind("confusion.PNG"); // "image"
 * plotFileKind("model.bin"); // undefined
 * ```
 */
export function plotFileKind(path: string): PlotFileKind | undefined {
  const extension = extensionOf(path);
  if ((DATA_EXTENSIONS as readonly string[]).includes(extension)) return "data";
  if (Object.hasOwn(IMAGE_TYPES, extension)) return "image";
  if (extension === "html" || extension === "htm") return "html";
  return undefined;
}

/** The media type of an image plot file (`image/png`), by its extension. */
export function imageType(path: string): string {
  return IMAGE_TYPES[extensionOf(path)] ?? "application/octet-stream";
}

/** The plot formats, for messages. */
export const PLOT_FORMATS =
  ".csv, .tsv, .json, .jsonl (data), .png, .svg, .jpg, .gif, .webp (images), .html";

/**
 * The rows of a data plot file whose text is `text`, by the extension of
 * `path`:
 *
 * - CSV and TSV: a header row, then one row per line; cells that are numbers
 *   become numbers, empty cells `null`.
 * - JSON: an array of objects, or an object holding exactly one such array
 *   (`{ "train": [...] }`).
 * - JSON Lines: one object a line (blank lines skipped).
 *
 * `label` names the file in errors (`roc.csv at HEAD`).
 *
 * @throws {PivotError} when the text does not parse, or holds something
 * other than rows.
 *
 * @example
 * ```ts
 * await parsePlotRows("roc.csv", "fpr,tpr\n0,0\n0.5,0.8\n", "roc.csv");
 * // [{ fpr: 0, tpr: 0 }, { fpr: 0.5, tpr: 0.8 }]
 * ```
 */
export async function parsePlotRows(
  path: string,
  text: string,
  label: string,
): Promise<PlotRow[]> {
  const extension = extensionOf(path);
  if (extension === "csv" || extension === "tsv") {
    return await parseDelimited(text, extension === "tsv" ? "\t" : ",", label);
  }
  if (extension === "jsonl") {
    return text.split("\n").flatMap((line, index) => {
      if (line.trim() === "") return [];
      return [asRow(parseJson(line, `${label}:${index + 1}`), `${label}:${index + 1}`)];
    });
  }
  if (extension === "json") return jsonRows(parseJson(text, label), label);
  throw new PivotError(`${label}: not a data file: plot data is one of ${PLOT_FORMATS}`);
}

/**
 * The rows of CSV (`delimiter` `,`) or TSV (`\t`) text with a header row,
 * with numbers as numbers and empty fields as `null`; plot data and metric
 * files read CSV alike.
 *
 * @throws {PivotError} naming `label` when the text is not valid CSV/TSV.
 *
 * @example
 * ```ts
 * await parseDelimited("step,loss\n1,0.5\n", ",", "loss.csv"); // [{ step: 1, loss: 0.5 }]
 * ```
 */
export async function parseDelimited(
  text: string,
  delimiter: string,
  label: string,
): Promise<PlotRow[]> {
  const { parse } = await import("csv-parse/sync");
  try {
    return parse(text, {
      columns: true,
      delimiter,
      skip_empty_lines: true,
      cast: (value: string, context: { header: boolean; quoting: boolean }) => {
        if (context.header || context.quoting) return value;
        if (value.trim() === "") return null;
        const number = Number(value);
        return Number.isFinite(number) ? number : value;
      },
    }) as PlotRow[];
  } catch (error) {
    throw new PivotError(
      `${label}: not valid ${delimiter === "\t" ? "TSV" : "CSV"}: ${
        (error as Error).message.split("\n")[0]
      }`,
    );
  }
}

function parseJson(text: string, label: string): unknown {
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new PivotError(`${label}: not valid JSON (${(error as Error).message})`);
  }
}

function jsonRows(value: unknown, label: string): PlotRow[] {
  if (Array.isArray(value)) return value.map((row, index) => asRow(row, `${label}[${index}]`));
  if (isRecord(value)) {
    const lists = Object.entries(value).filter(([, v]) => Array.isArray(v));
    if (lists.length === 1) {
      const [key, rows] = lists[0] as [string, unknown[]];
      return rows.map((row, index) => asRow(row, `${label}: ${key}[${index}]`));
    }
    if (lists.length > 1) {
      throw new PivotError(
        `${label}: holds several lists (${
          lists.map(([key]) => key).join(", ")
        }): a plot file holds one list of rows`,
      );
    }
  }
  throw new PivotError(
    `${label}: expected a list of rows (objects), got ${describe(value)}`,
  );
}

function asRow(value: unknown, label: string): PlotRow {
  if (isRecord(value)) return value;
  throw new PivotError(`${label}: expected a row (an object), got ${describe(value)}`);
}

function isRecord(value: unknown): value is PlotRow {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

/** Every column any of `rows` has, in order of first appearance. */
export function columnsOf(rows: readonly PlotRow[]): string[] {
  const columns = new Set<string>();
  for (const row of rows) for (const key of Object.keys(row)) columns.add(key);
  return [...columns];
}
