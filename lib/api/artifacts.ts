/**
 * Declarations of what a stage reads (deps) and writes (outs). Paths are
 * relative to the directory of the pipeline file; a trailing `/` marks a
 * directory, whose files are hashed as one manifest.
 *
 * Declaring only records: nothing is read, hashed or written until a stage
 * runs.
 *
 * @example
 * ```ts
 * import { dep, loaders, metric, out, plot } from "jsr:@pivot/core";
 *
 * const deps = { images: dep("images/"), labels: dep("labels.csv", loaders.csv()) };
 * const outs = {
 *   model: out("model.json", loaders.json<{ w: number[] }>()),
 *   scores: metric("metrics.json"),
 *   curve: plot("loss.csv", loaders.csv()),
 * };
 * ```
 *
 * @module
 */

import { isPathOnly } from "../model/loader_spec.ts";
import type { OutKind, PlotDisplay, PlotTemplate } from "../model/stage_def.ts";
import { json, pathOnly, type PathOnlyLoader, type Reader, type Writer } from "./loaders.ts";
import { PipelineDefinitionError } from "./definition_error.ts";

export type { OutKind, PlotDisplay, PlotTemplate };

/**
 * A declared input file or directory, made by {@link dep}.
 *
 * @typeParam T The value the stage receives, given by the loader.
 *
 * @example
 * ```ts
 * import { type Dep, dep, loaders } from "jsr:@pivot/core";
 *
 * const words: Dep<string> = dep("words.txt", loaders.text());
 * ```
 */
export interface Dep<T> {
  /** Always `"dep"`: tells a dep from an out. */
  readonly kind: "dep";
  /** Path relative to the pipeline file's directory; a trailing `/` marks a directory. */
  readonly path: string;
  /** Reads the file into the value the stage receives. */
  readonly loader: Reader<T>;
}

/**
 * Options every out accepts.
 *
 * @example
 * ```ts
 * import { loaders, out, type OutOptions } from "jsr:@pivot/core";
 *
 * const uncached: OutOptions = { cache: false };
 * const log = out("train.log", loaders.text(), uncached);
 * ```
 */
export interface OutOptions {
  /**
   * `false` keeps the out out of the cache: it is still hashed and recorded
   * in the lock file (default `true`; `false` for {@link metric}).
   */
  cache?: boolean | undefined;
}

/**
 * What every out has: its kind, its path and whether it is cached.
 *
 * @example
 * ```ts
 * import { type OutBase, plot } from "jsr:@pivot/core";
 *
 * const { kind, path, cache }: OutBase = plot("roc.png");
 * ```
 */
export interface OutBase {
  /** What kind of out, by the function that declared it. */
  readonly kind: OutKind;
  /** Path relative to the pipeline file's directory; a trailing `/` marks a directory. */
  readonly path: string;
  /** Whether the out is stored in the cache. */
  readonly cache: boolean;
  /** For a {@link plot}: how `pivot plots` draws it (the options given, checked). */
  readonly plot?: PlotDisplay | undefined;
}

/**
 * An out whose value the stage returns; Pivot saves it with `loader`.
 *
 * @typeParam T The value the stage returns for this out.
 *
 * @example
 * ```ts
 * import { loaders, out, type ValueOut } from "jsr:@pivot/core";
 *
 * const model: ValueOut<{ w: number }> = out("model.json", loaders.json<{ w: number }>());
 * ```
 */
export interface ValueOut<T> extends OutBase {
  /** Saves the returned value to the file. */
  readonly loader: Writer<T>;
  /** Always `false`: the stage returns the value; it does not write the file. */
  readonly selfWritten: false;
}

/**
 * An out the stage writes itself at `ctx.outs.<name>`; the stage returns
 * nothing for it.
 *
 * @example
 * ```ts
 * import { out, type PathOut } from "jsr:@pivot/core";
 *
 * const archive: PathOut = out("archive.tar.gz");
 * ```
 */
export interface PathOut extends OutBase {
  /** The path-only loader. */
  readonly loader: PathOnlyLoader;
  /** Always `true`: the stage writes the file itself. */
  readonly selfWritten: true;
}

/**
 * A declared output file or directory: a {@link ValueOut} or a {@link PathOut}.
 *
 * @typeParam T The value the stage returns for a `ValueOut`.
 *
 * @example
 * ```ts
 * import { loaders, out, type Out } from "jsr:@pivot/core";
 *
 * const outs: Record<string, Out> = {
 *   table: out("table.csv", loaders.csv()),
 *   report: out("report.pdf"),
 * };
 * ```
 */
export type Out<T = unknown> = ValueOut<T> | PathOut;

/**
 * Declare a dep: a file or directory the stage reads. When it changes, the
 * stage re-runs. The stage receives the value `loader` reads from it.
 *
 * @typeParam T The value the stage receives.
 * @param path Relative to the pipeline file's directory; end it with `/` for
 * a directory.
 * @param loader Reads the file (default: `loaders.pathOnly()`, the stage
 * receives the absolute path).
 * @returns The declaration, for a stage's `deps`.
 *
 * @example
 * ```ts
 * import { dep, loaders, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("dep_demo");
 * pipeline.stage({
 *   name: "inspect",
 *   deps: {
 *     raw: dep("data.csv", loaders.csv()), // the parsed rows
 *     photos: dep("photos/"), // the directory's absolute path
 *   },
 *   run: ({ raw, photos }) => console.log(raw.length, photos),
 * });
 * ```
 */
export function dep<T = string>(path: string, loader?: Reader<T>): Dep<T> {
  return { kind: "dep", path, loader: loader ?? (pathOnly() as unknown as Reader<T>) };
}

/**
 * Declare a cached out, saved with `loader` from the value the stage returns.
 *
 * @typeParam T The value the stage returns for it.
 * @param path Relative to the pipeline file's directory.
 * @param loader Writes the returned value to the file.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("out_demo");
 * pipeline.stage({
 *   name: "fit",
 *   outs: { model: out("model.json", loaders.json<{ w: number }>()) },
 *   run: () => ({ model: { w: 0.5 } }), // must return { model: { w: number } }
 * });
 * ```
 */
export function out<T>(path: string, loader: Writer<T>, options?: OutOptions): ValueOut<T>;
/**
 * Declare a cached out the stage writes itself at `ctx.outs.<name>` (with no
 * loader, or `loaders.pathOnly()`); the stage returns nothing for it.
 *
 * @param path Relative to the pipeline file's directory; end it with `/` for
 * a directory.
 * @param loader `loaders.pathOnly()`, or nothing.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("self_written_demo");
 * pipeline.stage({
 *   name: "render",
 *   outs: { page: out("index.html") },
 *   run: (_deps, ctx) => Deno.writeTextFile(ctx.outs.page, "<h1>Hi</h1>"),
 * });
 * ```
 */
export function out(path: string, loader?: PathOnlyLoader, options?: OutOptions): PathOut;
export function out<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: OutOptions = {},
): Out<T> {
  return makeOut("out", path, loader, options.cache ?? true);
}

function makeOut<T>(
  kind: OutKind,
  path: string,
  loader: Writer<T> | PathOnlyLoader | undefined,
  cache: boolean,
): Out<T> {
  if (loader === undefined || isPathOnly(loader)) {
    return { kind, path, loader: loader ?? pathOnly(), cache, selfWritten: true };
  }
  return { kind, path, loader, cache, selfWritten: false };
}

/**
 * The value of a metric: a JSON object. Nested keys are shown flattened
 * (`train.loss`) by `pivot metrics show` and `pivot metrics diff`.
 *
 * @example
 * ```ts
 * import type { MetricValue } from "jsr:@pivot/core";
 *
 * const scores: MetricValue = { accuracy: 0.93, train: { loss: 0.2 } };
 * ```
 */
export type MetricValue = Record<string, unknown>;

/**
 * Declare a metric: a small JSON file the stage returns as an object, not
 * checked out from the cache (commit it to git). `pivot metrics show` prints
 * every metric of the project flattened to dotted keys (`train.loss`), and
 * `pivot metrics diff` gives each one's old value, new value and change
 * between git HEAD (or `--rev A`) and the workspace (or `--rev B`), with
 * `--json`, `--md` and `--precision N` (see docs/metrics.md).
 *
 * @typeParam T The object the stage returns for it.
 * @param path Relative to the pipeline file's directory.
 * @param options `{ cache: true }` also stores it in the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { metric, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("metric_demo");
 * pipeline.stage({
 *   name: "evaluate",
 *   outs: { scores: metric<{ accuracy: number }>("metrics.json") },
 *   run: () => ({ scores: { accuracy: 0.93 } }),
 * });
 * ```
 */
export function metric<T extends MetricValue = MetricValue>(
  path: string,
  options?: OutOptions,
): ValueOut<T> {
  return {
    kind: "metric",
    path,
    loader: json<T>(),
    cache: options?.cache ?? false,
    selfWritten: false,
  };
}

const PLOT_TEMPLATES: readonly PlotTemplate[] = ["linear", "scatter", "bar", "confusion"];

/**
 * Options of {@link plot}: whether it is cached, and how it is drawn.
 *
 * @example
 * ```ts
 * import { loaders, plot, type PlotOptions } from "jsr:@pivot/core";
 *
 * const options: PlotOptions = { x: "epoch", y: ["train", "val"], cache: false };
 * const loss = plot("loss.json", loaders.json(), options);
 * ```
 */
export interface PlotOptions extends OutOptions, PlotDisplay {}

/**
 * Declare a plot saved with `loader` from the value the stage returns:
 * data (CSV, TSV, JSON, JSON Lines) drawn as a chart, or an image or HTML
 * file shown as it is. `pivot plots show` renders every plot of the project
 * into one self-contained HTML page, and `pivot plots diff` overlays each
 * plot at two git revisions (see docs/plots.md).
 *
 * @typeParam T The value the stage returns for it.
 * @param path Relative to the pipeline file's directory; end it with `/` for
 * a directory of plots.
 * @param loader Writes the returned value to the file.
 * @param options How it is drawn ({@link PlotDisplay}), and `{ cache: false }`
 * to keep it out of the cache. Changing how it is drawn re-runs nothing.
 * @returns The declaration, for a stage's `outs`.
 * @throws {PipelineDefinitionError} for an unknown template or option.
 *
 * @example
 * ```ts
 * import { loaders, Pipeline, plot } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("plot_demo");
 * pipeline.stage({
 *   name: "evaluate",
 *   outs: { roc: plot("roc.csv", loaders.csv(), { x: "fpr", y: "tpr", template: "linear" }) },
 *   run: () => ({ roc: [{ fpr: 0, tpr: 0 }, { fpr: 0.1, tpr: 0.7 }, { fpr: 1, tpr: 1 }] }),
 * });
 * ```
 */
export function plot<T>(path: string, loader: Writer<T>, options?: PlotOptions): ValueOut<T>;
/**
 * Declare a plot the stage writes itself at `ctx.outs.<name>`, such as an
 * image a charting tool draws; shown by `pivot plots show` and
 * `pivot plots diff` as it is.
 *
 * @param path Relative to the pipeline file's directory.
 * @param loader `loaders.pathOnly()`, or nothing.
 * @param options `{ cache: false }` keeps it out of the cache; the drawing
 * options of {@link PlotDisplay} apply if the stage writes data.
 * @returns The declaration, for a stage's `outs`.
 * @throws {PipelineDefinitionError} for an unknown template or option.
 *
 * @example
 * ```ts
 * import { Pipeline, plot } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("image_plot_demo");
 * pipeline.stage({
 *   name: "draw",
 *   outs: { chart: plot("chart.svg") },
 *   run: (_deps, ctx) => Deno.writeTextFile(ctx.outs.chart, "<svg/>"),
 * });
 * ```
 */
export function plot(path: string, loader?: PathOnlyLoader, options?: PlotOptions): PathOut;
export function plot<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: PlotOptions = {},
): Out<T> {
  const { cache, ...display } = options;
  return { ...makeOut("plot", path, loader, cache ?? true), plot: checkPlotDisplay(path, display) };
}

const PLOT_KEYS = new Set(["cache", "template", "x", "y", "title", "xLabel", "yLabel"]);

/** `display`, checked (plain JavaScript callers get no type errors) and frozen. */
function checkPlotDisplay(path: string, display: PlotDisplay): PlotDisplay {
  const where = `plot(${JSON.stringify(path)})`;
  for (const key of Object.keys(display)) {
    if (!PLOT_KEYS.has(key)) {
      throw new PipelineDefinitionError(
        `${where}: unknown option '${key}': use ${[...PLOT_KEYS].join(", ")}`,
      );
    }
  }
  if (display.template !== undefined && !PLOT_TEMPLATES.includes(display.template)) {
    throw new PipelineDefinitionError(
      `${where}: unknown template ${JSON.stringify(display.template)}: use ${
        PLOT_TEMPLATES.join(", ")
      }`,
    );
  }
  const ys = typeof display.y === "string" ? [display.y] : display.y ?? [];
  for (const [key, value] of [["x", display.x], ...ys.map((y) => ["y", y])]) {
    if (value !== undefined && (typeof value !== "string" || value === "")) {
      throw new PipelineDefinitionError(
        `${where}: option '${key}' must name a column, got ${JSON.stringify(value)}`,
      );
    }
  }
  // Absent and undefined options mean the same: keep only those given.
  const given = Object.fromEntries(Object.entries(display).filter(([, v]) => v !== undefined));
  return Object.freeze(Array.isArray(display.y) ? { ...given, y: [...ys] } : given);
}

/**
 * Declare an incremental out, saved with `loader`: before the stage runs, its
 * last cached version is restored as a writable copy, so the stage can read
 * what it wrote last time and extend it.
 *
 * @typeParam T The value the stage returns for it.
 * @param path Relative to the pipeline file's directory.
 * @param loader Writes the returned value to the file.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { incremental, loaders, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("incremental_demo");
 * pipeline.stage({
 *   name: "collect",
 *   outs: { seen: incremental("seen.json", loaders.json<string[]>()) },
 *   run: async (_deps, ctx) => {
 *     // The previous version, if any, is at ctx.outs.seen.
 *     const previous: string[] = await Deno.readTextFile(ctx.outs.seen)
 *       .then((text) => JSON.parse(text), () => []);
 *     return { seen: [...previous, new Date().toISOString()] };
 *   },
 * });
 * ```
 */
export function incremental<T>(
  path: string,
  loader: Writer<T>,
  options?: OutOptions,
): ValueOut<T>;
/**
 * Declare an incremental out the stage updates itself at `ctx.outs.<name>`,
 * where its last cached version is restored as a writable copy before the
 * stage runs.
 *
 * @param path Relative to the pipeline file's directory; end it with `/` for
 * a directory.
 * @param loader `loaders.pathOnly()`, or nothing.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { incremental, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("append_demo");
 * pipeline.stage({
 *   name: "log",
 *   outs: { log: incremental("runs.log") },
 *   run: (_deps, ctx) => Deno.writeTextFile(ctx.outs.log, "ran\n", { append: true }),
 * });
 * ```
 */
export function incremental(path: string, loader?: PathOnlyLoader, options?: OutOptions): PathOut;
export function incremental<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: OutOptions = {},
): Out<T> {
  return makeOut("incremental", path, loader, options.cache ?? true);
}
