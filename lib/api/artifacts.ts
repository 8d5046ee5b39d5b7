/**
 * Declarations of what a stage reads (deps) and writes (outs). Paths are
 * relative to the directory of the pipeline file; a trailing `/` marks a
 * directory.
 *
 * @module
 */

import {
  isPathOnly,
  json,
  pathOnly,
  type PathOnlyLoader,
  type Reader,
  type Writer,
} from "./loaders.ts";

/** The kinds of outs: see SPEC §2. */
export type OutKind = "out" | "metric" | "plot" | "incremental";

/** A declared input file or directory, read with `loader`. */
export interface Dep<T> {
  /** Brand. */
  readonly kind: "dep";
  /** Path relative to the pipeline file's directory. */
  readonly path: string;
  /** How the stage receives it. */
  readonly loader: Reader<T>;
}

/** Options every out accepts. */
export interface OutOptions {
  /** `false` keeps the out out of the cache (it is still hashed and locked). */
  cache?: boolean;
}

interface OutBase {
  /** What kind of out. */
  readonly kind: OutKind;
  /** Path relative to the pipeline file's directory. */
  readonly path: string;
  /** Whether the out is stored in the cache. */
  readonly cache: boolean;
}

/** An out whose value the stage returns; Pivot saves it with `loader`. */
export interface ValueOut<T> extends OutBase {
  /** How the returned value is saved. */
  readonly loader: Writer<T>;
  /** The stage returns the value; it does not write the file. */
  readonly selfWritten: false;
}

/** An out the stage writes itself at `ctx.outs.<name>`: it returns nothing for it. */
export interface PathOut extends OutBase {
  /** The path-only loader. */
  readonly loader: PathOnlyLoader;
  /** The stage writes the file itself. */
  readonly selfWritten: true;
}

/** A declared output file or directory. */
export type Out<T = unknown> = ValueOut<T> | PathOut;

/**
 * Declare a dep read with `loader` (default: `pathOnly`, the stage gets the path).
 *
 * @example
 * ```ts
 * deps: { raw: dep("data.csv", loaders.csv()) }
 * ```
 */
export function dep<T = string>(path: string, loader?: Reader<T>): Dep<T> {
  return { kind: "dep", path, loader: loader ?? (pathOnly() as unknown as Reader<T>) };
}

/** Declare a cached out, saved with `loader` from the value the stage returns. */
export function out<T>(path: string, loader: Writer<T>, options?: OutOptions): ValueOut<T>;
/** Declare a cached out the stage writes itself at `ctx.outs.<name>`. */
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

/** A metrics value: small JSON, meant for git. */
export type MetricValue = Record<string, unknown>;

/**
 * Declare a metric: a small JSON file, not cached (meant to be committed to
 * git), shown by `pivot metrics`.
 */
export function metric<T extends MetricValue = MetricValue>(
  path: string,
  options: OutOptions = {},
): ValueOut<T> {
  return {
    kind: "metric",
    path,
    loader: json<T>(),
    cache: options.cache ?? false,
    selfWritten: false,
  };
}

/** Declare a plot: a cached image, HTML, JSON or CSV file (default: `pathOnly`). */
export function plot<T>(path: string, loader: Writer<T>, options?: OutOptions): ValueOut<T>;
/** Declare a plot the stage writes itself at `ctx.outs.<name>`. */
export function plot(path: string, loader?: PathOnlyLoader, options?: OutOptions): PathOut;
export function plot<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: OutOptions = {},
): Out<T> {
  return makeOut("plot", path, loader, options.cache ?? true);
}

/**
 * Declare an incremental out: its last cached version is restored as a
 * writable copy before the stage runs, so the stage can append to it.
 */
export function incremental<T>(
  path: string,
  loader: Writer<T>,
  options?: OutOptions,
): ValueOut<T>;
/** Declare an incremental out the stage updates itself at `ctx.outs.<name>`. */
export function incremental(path: string, loader?: PathOnlyLoader, options?: OutOptions): PathOut;
export function incremental<T>(
  path: string,
  loader?: Writer<T> | PathOnlyLoader,
  options: OutOptions = {},
): Out<T> {
  return makeOut("incremental", path, loader, options.cache ?? true);
}
