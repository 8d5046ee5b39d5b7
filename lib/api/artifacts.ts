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
import type { OutKind } from "../model/stage_def.ts";
import { json, pathOnly, type PathOnlyLoader, type Reader, type Writer } from "./loaders.ts";

export type { OutKind };

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
 * (`train.loss`) by `pivot metrics show`.
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
 * cached (commit it to git). `pivot metrics show` prints every metric of the
 * project, and `pivot metrics diff` compares them with another git revision.
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

/**
 * Declare a plot saved with `loader` from the value the stage returns: cached
 * data (CSV, JSON) or an image or HTML file. `pivot plots show` renders every
 * plot of the project into one HTML file, and `pivot plots diff` overlays a
 * plot at two git revisions.
 *
 * @typeParam T The value the stage returns for it.
 * @param path Relative to the pipeline file's directory.
 * @param loader Writes the returned value to the file.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
 *
 * @example
 * ```ts
 * import { loaders, Pipeline, plot } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("plot_demo");
 * pipeline.stage({
 *   name: "train",
 *   outs: { loss: plot("loss.json", loaders.json<{ epoch: number; loss: number }[]>()) },
 *   run: () => ({ loss: [{ epoch: 1, loss: 0.9 }, { epoch: 2, loss: 0.4 }] }),
 * });
 * ```
 */
export function plot<T>(path: string, loader: Writer<T>, options?: OutOptions): ValueOut<T>;
/**
 * Declare a plot the stage writes itself at `ctx.outs.<name>`, such as an
 * image a charting tool draws; shown by `pivot plots show` and
 * `pivot plots diff` as it is.
 *
 * @param path Relative to the pipeline file's directory.
 * @param loader `loaders.pathOnly()`, or nothing.
 * @param options `{ cache: false }` keeps it out of the cache.
 * @returns The declaration, for a stage's `outs`.
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
export function plot(path: string, loader?: PathOnlyLoader, options?: OutOptions): PathOut;
export function plot<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: OutOptions = {},
): Out<T> {
  return makeOut("plot", path, loader, options.cache ?? true);
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
