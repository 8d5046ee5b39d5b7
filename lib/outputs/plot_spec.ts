/**
 * Plot data and options → a Vega-Lite spec: the one place that decides what
 * a chart looks like, used by `pivot plots show|diff` and the web UI alike.
 * Specs are plain JSON with the data inline, so any Vega-Lite renderer draws
 * them the same way.
 *
 * One revision draws one series per `y` column; several revisions (a diff)
 * are overlaid in one chart, told apart by colour. A confusion matrix at
 * several revisions is drawn as one matrix per revision, side by side.
 *
 * @module
 */

import type { PlotDisplay, PlotTemplate } from "../model/stage_def.ts";
import { PivotError } from "../errors.ts";
import { columnsOf, type PlotRow } from "./plot_data.ts";

/** A Vega-Lite spec (JSON). */
export type VegaLiteSpec = Record<string, unknown>;

/** The Vega-Lite schema the specs are written for (the major version of the bundled library). */
const VEGA_LITE_SCHEMA = "https://vega.github.io/schema/vega-lite/v6.json";

/** The rows of a plot file at one revision. */
export interface RevisionRows {
  /** The revision's label: `workspace`, `HEAD`, a branch or commit as given. */
  readonly rev: string;
  /** Its rows. */
  readonly rows: readonly PlotRow[];
}

/** What {@link chartOf} draws. */
export interface ChartRequest {
  /** The plot file's project-relative path: the default title, and the subject of errors. */
  readonly path: string;
  /** The plot's options. */
  readonly display: PlotDisplay;
  /** Its rows at each revision, oldest first (one entry when not diffing). */
  readonly revisions: readonly RevisionRows[];
  /** Receives a note when a revision is left out (say, it lacks a column). */
  readonly warn: (message: string) => void;
}

/** A chart, ready to render. */
export interface Chart {
  /** The template drawn. */
  readonly template: PlotTemplate;
  /** The column on the x axis (`step`, the row number, unless set). */
  readonly x: string;
  /** The columns on the y axis. */
  readonly y: readonly string[];
  /** The revisions drawn, oldest first. */
  readonly revisions: readonly string[];
  /**
   * The rows drawn: each revision's rows, with the `step` column added when
   * the x axis is the row number, and the revision's label (in the column
   * named by {@link Chart.revisionField}) when there are several revisions.
   */
  readonly data: readonly PlotRow[];
  /** The column holding the revision label, when there are several revisions. */
  readonly revisionField: string | undefined;
  /** The Vega-Lite spec, with {@link Chart.data} inline. */
  readonly spec: VegaLiteSpec;
}

const STEP = "step";

/**
 * The chart of a data plot at one or more revisions, or undefined when no
 * revision has a row to draw (after a warning).
 *
 * @throws {PivotError} when a column named in the options is missing at
 * every revision, when `y` holds text that is not a number, or when the
 * confusion template lacks `x` or `y`.
 *
 * @example
 * ```ts
 * const chart = chartOf({
 *   path: "roc.csv",
 *   display: { x: "fpr", y: "tpr", template: "linear" },
 *   revisions: [{ rev: "workspace", rows: [{ fpr: 0, tpr: 0 }, { fpr: 1, tpr: 1 }] }],
 *   warn: console.warn,
 * });
 * chart?.spec; // { mark: { type: "line", … }, encoding: { x: { field: "fpr", … }, … }, … }
 * ```
 */
export function chartOf(request: ChartRequest): Chart | undefined {
  const { path, display } = request;
  const template = display.template ?? "linear";
  const nonEmpty = request.revisions.filter((revision) => revision.rows.length > 0);
  if (nonEmpty.length === 0) {
    request.warn(`${path}: no rows to draw`);
    return undefined;
  }
  const ys = display.y === undefined ? [] : typeof display.y === "string" ? [display.y] : display.y;
  if (template === "confusion" && (display.x === undefined || ys.length !== 1)) {
    throw new PivotError(
      `${path}: the confusion template needs x (the actual class column) and one y (the predicted class column) in plot() options`,
    );
  }
  const allColumns = columnsOf(nonEmpty.flatMap((revision) => revision.rows));
  // The row number is the x axis unless one is named (a column called `step` is used as is).
  const x = display.x ?? STEP;
  const synthesizeStep = display.x === undefined && !allColumns.includes(STEP);
  const y = ys.length > 0 ? ys : defaultY(allColumns, x, path);
  const required = [...(synthesizeStep ? [] : [x]), ...y];

  const drawn = nonEmpty.filter((revision) => {
    const columns = new Set(columnsOf(revision.rows));
    const missing = required.filter((column) => !columns.has(column));
    if (missing.length === 0) return true;
    const message = `${labelOf(path, revision.rev, request.revisions.length)}: no column ${
      missing.map((column) => `'${column}'`).join(", ")
    } (its columns: ${[...columns].join(", ")})`;
    if (nonEmpty.length === 1) {
      throw new PivotError(`${message}: set x and y in plot() options to columns it has`);
    }
    request.warn(`${message}: left out of the chart`);
    return false;
  });
  if (drawn.length === 0) {
    throw new PivotError(
      `${path}: no revision has the columns ${
        required.map((c) => `'${c}'`).join(", ")
      }: set x and y in plot() options to columns it has`,
    );
  }

  const revisions = drawn.map((revision) => revision.rev);
  const revisionField = revisions.length > 1
    ? freeName(allColumns, ["rev", "revision", "pivot_rev"])
    : undefined;
  const data = drawn.flatMap((revision) =>
    revision.rows.map((row, index) => ({
      ...row,
      ...(synthesizeStep ? { [STEP]: index } : {}),
      ...(revisionField ? { [revisionField]: revision.rev } : {}),
    }))
  );
  if (template !== "confusion") checkNumeric(data, y, path);
  const context: SpecContext = {
    title: display.title,
    x,
    y,
    xLabel: display.xLabel ?? x,
    yLabel: display.yLabel ?? (y.length === 1 ? y[0] : "value"),
    data,
    revisions,
    revisionField,
  };
  const spec = template === "confusion" ? confusionSpec(context) : seriesSpec(template, context);
  return { template, x, y, revisions, data, revisionField, spec };
}

function labelOf(path: string, rev: string, revisions: number): string {
  return revisions > 1 || rev !== "workspace" ? `${path} at ${rev}` : path;
}

/** The last column that is not the x axis. */
function defaultY(columns: readonly string[], x: string, path: string): string[] {
  const candidates = columns.filter((column) => column !== x && column !== STEP);
  const last = candidates.at(-1);
  if (last === undefined) {
    throw new PivotError(
      `${path}: no column to draw on the y axis (columns: ${
        columns.join(", ")
      }): set y in plot() options`,
    );
  }
  return [last];
}

function checkNumeric(data: readonly PlotRow[], ys: readonly string[], path: string): void {
  for (const column of ys) {
    const index = data.findIndex((row) => {
      const value = row[column];
      return value !== null && value !== undefined && typeof value !== "number";
    });
    if (index >= 0) {
      throw new PivotError(
        `${path}: column '${column}' is not numeric (${
          JSON.stringify(data[index][column])
        } in row ${
          index + 1
        }): put a numeric column on the y axis, or use the confusion template for classes`,
      );
    }
  }
}

/** The first of `candidates` that is not a column. */
function freeName(columns: readonly string[], candidates: readonly string[]): string {
  const taken = new Set(columns);
  const free = candidates.find((name) => !taken.has(name));
  if (free !== undefined) return free;
  let n = 2;
  while (taken.has(`${candidates[0]}_${n}`)) n++;
  return `${candidates[0]}_${n}`;
}

interface SpecContext {
  /** The chart's own title; without one, the front end's heading (the path) names it. */
  readonly title: string | undefined;
  readonly x: string;
  readonly y: readonly string[];
  readonly xLabel: string;
  readonly yLabel: string;
  readonly data: readonly PlotRow[];
  readonly revisions: readonly string[];
  readonly revisionField: string | undefined;
}

/**
 * A column name as a Vega-Lite field: `.` and brackets would otherwise be
 * read as nested access (`a.b` is field `b` of `a`).
 */
export function fieldRef(column: string): string {
  return column.replace(/[\\.[\]]/g, (char) => `\\${char}`);
}

/** `datum["column"]` in a Vega expression. */
function datum(column: string): string {
  return `datum[${JSON.stringify(column)}]`;
}

type AxisType = "quantitative" | "temporal" | "ordinal" | "nominal";

/** How the x column reads: numbers, ISO dates, or labels. */
function xType(data: readonly PlotRow[], x: string, template: PlotTemplate): AxisType {
  const values = data.map((row) => row[x]).filter((value) => value !== null && value !== undefined);
  if (template === "bar") return "ordinal";
  if (values.every((value) => typeof value === "number")) return "quantitative";
  if (values.every((value) => typeof value === "string" && /^\d{4}-\d{2}-\d{2}/.test(value))) {
    return "temporal";
  }
  return template === "scatter" ? "nominal" : "ordinal";
}

const MARKS: Record<Exclude<PlotTemplate, "confusion">, Record<string, unknown>> = {
  linear: { type: "line", tooltip: true },
  scatter: { type: "point", filled: true, tooltip: true },
  bar: { type: "bar", tooltip: true },
};

/** Lines, points or bars: one series per y column and revision. */
function seriesSpec(
  template: Exclude<PlotTemplate, "confusion">,
  context: SpecContext,
): VegaLiteSpec {
  const { x, y, data, revisionField } = context;
  const transform: Record<string, unknown>[] = [];
  let yField = y[0];
  let keyField: string | undefined;
  if (y.length > 1) {
    // Several y columns: one (column, value) row per column, the column naming the series.
    const names = [...columnsOf(data)];
    keyField = freeName(names, ["column", "series"]);
    yField = freeName([...names, keyField], ["value", "y_value"]);
    transform.push({ fold: y.map(fieldRef), as: [keyField, yField] });
  }
  const type = xType(data, x, template);
  const integers = type === "quantitative" && data.every((row) => Number.isInteger(row[x] ?? 0));
  // Points need not start at zero (and keep off the edges); steps and epochs are whole numbers.
  const scale = template === "scatter" ? { scale: { zero: false, padding: 12 } } : {};
  const encoding: Record<string, unknown> = {
    x: {
      field: fieldRef(x),
      type,
      title: context.xLabel,
      ...scale,
      ...(integers ? { axis: { tickMinStep: 1 } } : {}),
    },
    y: { field: fieldRef(yField), type: "quantitative", title: context.yLabel, ...scale },
  };
  // Revisions in the order given (oldest first), not alphabetically.
  const revisionChannel = revisionField === undefined ? undefined : {
    field: fieldRef(revisionField),
    type: "nominal",
    title: "revision",
    sort: [...context.revisions],
  };
  const columnChannel = keyField === undefined
    ? undefined
    : { field: fieldRef(keyField), type: "nominal", title: "column" };
  if (columnChannel && revisionChannel && template !== "bar") {
    // Columns by colour, revisions by dash (lines) or shape (points).
    encoding.color = columnChannel;
    encoding[template === "linear" ? "strokeDash" : "shape"] = revisionChannel;
  } else if (columnChannel && revisionChannel) {
    // Bars side by side, one per (column, revision).
    const series = freeName([...columnsOf(data), keyField!, yField], ["series"]);
    transform.push({
      calculate: `${datum(keyField!)} + " @ " + ${datum(revisionField!)}`,
      as: series,
    });
    encoding.color = { field: fieldRef(series), type: "nominal", title: "column @ revision" };
    encoding.xOffset = { field: fieldRef(series) };
  } else if (columnChannel || revisionChannel) {
    const channel = { ...columnChannel, ...revisionChannel };
    encoding.color = channel;
    if (template === "bar") {
      encoding.xOffset = {
        field: channel.field,
        ...(revisionChannel ? { sort: revisionChannel.sort } : {}),
      };
    }
  }
  const mark = template === "linear" && data.length <= 200
    ? { ...MARKS.linear, point: true }
    : MARKS[template];
  return {
    $schema: VEGA_LITE_SCHEMA,
    ...(context.title === undefined ? {} : { title: context.title }),
    width: 520,
    height: 300,
    data: { values: data },
    ...(transform.length > 0 ? { transform } : {}),
    mark,
    encoding,
  };
}

/** Rows counted by (actual, predicted): a heat map with the counts written in. */
function confusionSpec(context: SpecContext): VegaLiteSpec {
  const { x, data, revisionField, revisions } = context;
  const y = context.y[0];
  const countField = freeName(columnsOf(data), ["count", "rows"]);
  const groupby = [x, y, ...(revisionField ? [revisionField] : [])];
  // Counted here as well as in the spec, to pick the text colour that reads on each cell.
  const counts = new Map<string, number>();
  for (const row of data) {
    const key = JSON.stringify(groupby.map((column) => row[column]));
    counts.set(key, (counts.get(key) ?? 0) + 1);
  }
  const half = Math.max(...counts.values()) / 2;
  const encoding = {
    x: { field: fieldRef(x), type: "nominal", title: context.xLabel },
    y: { field: fieldRef(y), type: "nominal", title: context.yLabel },
  };
  const cells = { width: { step: 48 }, height: { step: 48 } };
  const layer = [
    {
      mark: { type: "rect", tooltip: true },
      encoding: {
        color: {
          field: fieldRef(countField),
          type: "quantitative",
          title: "rows",
          scale: { scheme: "blues" },
          legend: { format: "d" },
        },
      },
    },
    {
      mark: { type: "text" },
      encoding: {
        text: { field: fieldRef(countField), type: "quantitative" },
        color: {
          condition: { test: `${datum(countField)} > ${half}`, value: "white" },
          value: "black",
        },
      },
    },
  ];
  const transform = [{
    aggregate: [{ op: "count", as: countField }],
    groupby: groupby.map(fieldRef),
  }];
  const common = {
    $schema: VEGA_LITE_SCHEMA,
    ...(context.title === undefined ? {} : { title: context.title }),
    data: { values: data },
    transform,
  };
  if (revisionField === undefined) return { ...common, ...cells, encoding, layer };
  return {
    ...common,
    facet: {
      column: {
        field: fieldRef(revisionField),
        type: "nominal",
        title: "revision",
        sort: [...revisions],
      },
    },
    spec: { ...cells, encoding, layer },
  };
}
