/**
 * The types of a stage: its spec (deps, outs, params, run function) and the
 * context its run function receives. The types carry the loaders' value types
 * end to end, so a run function that returns the wrong type for an out is a
 * `deno check` error.
 *
 * @example A run function written apart from the pipeline, typed from its deps and outs
 * ```ts
 * import { dep, type DepValues, loaders, out, type OutValues, Pipeline } from "jsr:@pivot/core";
 *
 * const deps = { rows: dep("rows.jsonl", loaders.jsonl<{ value: number }>()) };
 * const outs = { total: out("total.json", loaders.json<number>()) };
 *
 * export function sum({ rows }: DepValues<typeof deps>): OutValues<typeof outs> {
 *   return { total: rows.reduce((total, row) => total + row.value, 0) };
 * }
 *
 * export const pipeline = new Pipeline("typed").stage({ deps, outs, run: sum });
 * ```
 *
 * @module
 */

import type { Dep, Out, PathOut, ValueOut } from "./artifacts.ts";
import type { StandardSchemaV1 } from "./standard_schema.ts";

/**
 * A stage's deps, keyed by the name its run function receives them under.
 *
 * @example
 * ```ts
 * import { dep, type Deps, loaders } from "jsr:@pivot/core";
 *
 * const deps = { config: dep("config.yaml", loaders.yaml()) } satisfies Deps;
 * ```
 */
export type Deps = Record<string, Dep<unknown>>;

/**
 * A stage's outs, keyed by the name its run function returns them under.
 *
 * @example
 * ```ts
 * import { loaders, metric, out, type Outs } from "jsr:@pivot/core";
 *
 * const outs = {
 *   model: out("model.json", loaders.json()),
 *   scores: metric("metrics.json"),
 * } satisfies Outs;
 * ```
 */
export type Outs = Record<string, Out<unknown>>;

/**
 * A stage's params: a plain object of defaults, or any Standard Schema (zod,
 * valibot, …). `params.yaml` at the project root overrides them per stage
 * name, and the result is validated before the stage runs.
 *
 * @example
 * ```ts
 * import type { ParamsSpec } from "jsr:@pivot/core";
 *
 * const params: ParamsSpec = { learningRate: 0.01, epochs: 10 };
 * ```
 */
export type ParamsSpec = Record<string, unknown> | StandardSchemaV1;

/**
 * The params value a run function receives for params `P`: the schema's
 * output type for a Standard Schema, else `P` itself.
 *
 * @typeParam P The stage's {@link ParamsSpec}.
 *
 * @example
 * ```ts
 * import type { ParamsOf } from "jsr:@pivot/core";
 *
 * const defaults = { epochs: 10 };
 * const params: ParamsOf<typeof defaults> = { epochs: 3 };
 * ```
 */
export type ParamsOf<P> = P extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<P> : P;

/**
 * The first argument of a run function: each dep's value, as its loader
 * reads it.
 *
 * @typeParam D The stage's deps.
 *
 * @example
 * ```ts
 * import { dep, type DepValues, loaders } from "jsr:@pivot/core";
 *
 * const deps = { words: dep("words.txt", loaders.text()), image: dep("image.png") };
 * const values: DepValues<typeof deps> = { words: "a b c", image: "/abs/image.png" };
 * ```
 */
export type DepValues<D extends Deps> = {
  [K in keyof D]: D[K] extends Dep<infer T> ? T : never;
};

/**
 * The names of the outs a run function returns a value for: every out but
 * those the stage writes itself ({@link PathOut}).
 *
 * @typeParam O The stage's outs.
 *
 * @example
 * ```ts
 * import { loaders, out, type ValueOutKeys } from "jsr:@pivot/core";
 *
 * const outs = { model: out("model.json", loaders.json()), chart: out("chart.png") };
 * const returned: ValueOutKeys<typeof outs> = "model"; // "chart" is written by the stage
 * ```
 */
export type ValueOutKeys<O> = { [K in keyof O]: O[K] extends PathOut ? never : K }[keyof O];

/**
 * The object a run function returns: a value for each out Pivot saves, typed
 * by its loader.
 *
 * @typeParam O The stage's outs.
 *
 * @example
 * ```ts
 * import { loaders, out, type OutValues } from "jsr:@pivot/core";
 *
 * const outs = {
 *   model: out("model.json", loaders.json<{ w: number }>()),
 *   chart: out("chart.png"),
 * };
 * const result: OutValues<typeof outs> = { model: { w: 1 } };
 * ```
 */
export type OutValues<O extends Outs> = {
  [K in ValueOutKeys<O>]: O[K] extends ValueOut<infer T> ? T : never;
};

/**
 * What a run function returns (or resolves to): {@link OutValues}, or
 * nothing when the stage writes every out itself.
 *
 * @typeParam O The stage's outs.
 *
 * @example
 * ```ts
 * import { out, type StageResult } from "jsr:@pivot/core";
 *
 * const outs = { report: out("report.pdf") };
 * const result: StageResult<typeof outs> = undefined; // the stage wrote report.pdf itself
 * ```
 */
export type StageResult<O extends Outs> = [ValueOutKeys<O>] extends [never] ? void | OutValues<O>
  : OutValues<O>;

/**
 * The second argument of a run function: params, where to write each out,
 * and the run's variant, cancel signal and scratch directory.
 *
 * @typeParam O The stage's outs.
 * @typeParam P The params value.
 *
 * @example
 * ```ts
 * import { loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("context_demo");
 * pipeline.stage({
 *   name: "fetch",
 *   outs: { page: out("page.html"), meta: out("meta.json", loaders.json()) },
 *   params: { url: "https://example.com/" },
 *   permissions: { net: ["example.com"] },
 *   run: async (_deps, ctx) => {
 *     const response = await fetch(ctx.params.url, { signal: ctx.signal });
 *     await Deno.writeTextFile(ctx.outs.page, await response.text());
 *     return { meta: { stage: ctx.stage, status: response.status } };
 *   },
 * });
 * ```
 */
export interface StageContext<O extends Outs = Outs, P = Record<string, unknown>> {
  /** Params: defaults, overridden by `params.yaml`, validated. */
  readonly params: P;
  /** The absolute path at which each out is to be written. */
  readonly outs: { readonly [K in keyof O]: string };
  /** The variant name (`small` for `train@small`), or undefined. */
  readonly variant: string | undefined;
  /** The full stage name. */
  readonly stage: string;
  /** Fired when the run is cancelled; stop work and return or throw. */
  readonly signal: AbortSignal;
  /** A writable scratch directory, emptied after the run. */
  readonly tmpDir: string;
}

/**
 * A stage's run function: it receives the dep values and the
 * {@link StageContext}, and returns (or resolves to) the out values. It is a
 * plain function, testable without Pivot.
 *
 * @typeParam D The stage's deps.
 * @typeParam O The stage's outs.
 * @typeParam P The stage's params.
 *
 * @example
 * ```ts
 * import { dep, loaders, out, type StageFunction } from "jsr:@pivot/core";
 *
 * const deps = { words: dep("words.txt", loaders.text()) };
 * const outs = { count: out("count.json", loaders.json<number>()) };
 * const params = { minLength: 1 };
 *
 * const count: StageFunction<typeof deps, typeof outs, typeof params> = ({ words }, ctx) => ({
 *   count: words.split(/\s+/).filter((word) => word.length >= ctx.params.minLength).length,
 * });
 * ```
 */
export type StageFunction<D extends Deps, O extends Outs, P> = (
  deps: DepValues<D>,
  ctx: StageContext<O, ParamsOf<P>>,
) => StageResult<O> | Promise<StageResult<O>>;

/**
 * Permissions beyond the defaults. A stage may by default read its deps and
 * write its outs and `ctx.tmpDir`, and nothing else: no net, env, run, ffi or
 * sys. Each entry takes `true` (all) or a list, as Deno's `--allow-*` flags
 * do. A stage that reaches further fails with a message naming the
 * permission to declare.
 *
 * @example
 * ```ts
 * import type { StagePermissions } from "jsr:@pivot/core";
 *
 * const permissions: StagePermissions = {
 *   read: ["../shared/vocabulary.txt"],
 *   net: ["api.example.com"],
 *   env: ["API_TOKEN"],
 * };
 * ```
 */
export interface StagePermissions {
  /** Extra paths the stage may read (absolute, or relative to the pipeline file). */
  read?: readonly string[] | undefined;
  /** Hosts the stage may reach, or `true` for any. */
  net?: boolean | readonly string[] | undefined;
  /** Environment variables the stage may read, or `true` for any. */
  env?: boolean | readonly string[] | undefined;
  /** Programs the stage may start, or `true` for any. */
  run?: boolean | readonly string[] | undefined;
  /** Native libraries the stage may load, or `true` for any. */
  ffi?: boolean | readonly string[] | undefined;
  /** System information the stage may query, or `true` for any. */
  sys?: boolean | readonly string[] | undefined;
}

/**
 * Everything that defines a stage, as passed to `pipeline.stage()` and
 * `defineStage()`.
 *
 * @typeParam D The deps.
 * @typeParam O The outs.
 * @typeParam P The params.
 *
 * @example
 * ```ts
 * import { dep, loaders, out, type StageSpec } from "jsr:@pivot/core";
 *
 * const deps = { text: dep("book.txt", loaders.text()) };
 * const outs = { length: out("length.json", loaders.json<number>()) };
 *
 * const spec: StageSpec<typeof deps, typeof outs> = {
 *   name: "measure",
 *   deps,
 *   outs,
 *   mutex: ["disk"],
 *   run: ({ text }) => ({ length: text.length }),
 * };
 * ```
 */
export interface StageSpec<
  D extends Deps = Record<never, never>,
  O extends Outs = Record<never, never>,
  P extends ParamsSpec = Record<never, never>,
> {
  /**
   * Stage name: letters, digits, `_` and `-`. Defaults to the name of a
   * named `run` function.
   */
  name?: string | undefined;
  /** Inputs, each loaded and passed to `run`. */
  deps?: D | undefined;
  /** Outputs, each saved from what `run` returns (or written by it). */
  outs?: O | undefined;
  /** Params: plain defaults or a Standard Schema (see {@link ParamsSpec}). */
  params?: P;
  /** Mutex groups: stages sharing a group never run at once; `"*"` runs alone. */
  mutex?: readonly string[] | undefined;
  /** Extra permissions (see {@link StagePermissions}). */
  permissions?: StagePermissions | undefined;
  /** The function that computes the outs. */
  run: StageFunction<D, O, P>;
}

/**
 * Changes applied when a reusable stage definition is registered with
 * `pipeline.register()`. What is not named keeps the definition's value.
 *
 * @typeParam D The definition's deps.
 * @typeParam O The definition's outs.
 * @typeParam P The definition's params.
 *
 * @example
 * ```ts
 * import type { Deps, Outs, StageOverrides } from "jsr:@pivot/core";
 *
 * const small: StageOverrides<Deps, Outs, { epochs: number }> = {
 *   name: "train@small",
 *   params: { epochs: 1 },
 *   outs: { model: "models/small.json" },
 * };
 * ```
 */
export interface StageOverrides<D extends Deps, O extends Outs, P extends ParamsSpec> {
  /** Stage name; `train@small` makes variant `small` of `train`. */
  name?: string | undefined;
  /** Param values replacing the defaults. */
  params?: Partial<ParamsOf<P>>;
  /** New paths for deps, by name. */
  deps?: { [K in keyof D]?: string } | undefined;
  /** New paths for outs, by name. */
  outs?: { [K in keyof O]?: string } | undefined;
  /** Replaces the mutex groups. */
  mutex?: readonly string[] | undefined;
}
