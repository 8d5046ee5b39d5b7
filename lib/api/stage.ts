/**
 * The types of a stage: its spec (deps, outs, params, run function) and the
 * context its run function receives. The types carry the loaders' value types
 * end to end, so a run function that returns the wrong type for an out is a
 * `deno check` error.
 *
 * @module
 */

import type { Dep, Out, PathOut, ValueOut } from "./artifacts.ts";
import type { StandardSchemaV1 } from "./standard_schema.ts";

/** A stage's deps, keyed by name. */
export type Deps = Record<string, Dep<unknown>>;

/** A stage's outs, keyed by name. */
export type Outs = Record<string, Out<unknown>>;

/** Params: a plain object of defaults, or any Standard Schema. */
export type ParamsSpec = Record<string, unknown> | StandardSchemaV1;

/** The params value a stage receives for a {@link ParamsSpec}. */
export type ParamsOf<P> = P extends StandardSchemaV1 ? StandardSchemaV1.InferOutput<P> : P;

/** The values a run function receives: each dep loaded by its loader. */
export type DepValues<D extends Deps> = {
  [K in keyof D]: D[K] extends Dep<infer T> ? T : never;
};

type ValueOutKeys<O> = { [K in keyof O]: O[K] extends PathOut ? never : K }[keyof O];

/** The values a run function returns: one per out that Pivot saves. */
export type OutValues<O extends Outs> = {
  [K in ValueOutKeys<O>]: O[K] extends ValueOut<infer T> ? T : never;
};

/** What a run function returns: nothing when every out is written by the stage. */
export type StageResult<O extends Outs> = [ValueOutKeys<O>] extends [never] ? void | OutValues<O>
  : OutValues<O>;

/** The second argument of a run function. */
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

/** A stage's run function. */
export type StageFunction<D extends Deps, O extends Outs, P> = (
  deps: DepValues<D>,
  ctx: StageContext<O, ParamsOf<P>>,
) => StageResult<O> | Promise<StageResult<O>>;

/**
 * Permissions beyond the defaults. A stage may by default read its deps and
 * write its outs and `ctx.tmpDir`, and nothing else: no net, env, run, ffi or
 * sys. Each entry takes `true` (all) or a list, as Deno's flags do.
 */
export interface StagePermissions {
  /** Extra paths the stage may read (absolute, or relative to the pipeline file). */
  read?: readonly string[];
  /** Hosts the stage may reach, or `true`. */
  net?: boolean | readonly string[];
  /** Environment variables the stage may read, or `true`. */
  env?: boolean | readonly string[];
  /** Programs the stage may start, or `true`. */
  run?: boolean | readonly string[];
  /** Native libraries the stage may load, or `true`. */
  ffi?: boolean | readonly string[];
  /** System information the stage may query, or `true`. */
  sys?: boolean | readonly string[];
}

/** Everything that defines a stage. */
export interface StageSpec<
  D extends Deps = Record<never, never>,
  O extends Outs = Record<never, never>,
  P extends ParamsSpec = Record<never, never>,
> {
  /** Stage name; defaults to the name of a named `run` function. */
  name?: string;
  /** Inputs, each loaded and passed to `run`. */
  deps?: D;
  /** Outputs, each saved from what `run` returns (or written by it). */
  outs?: O;
  /** Params: plain defaults or a Standard Schema. */
  params?: P;
  /** Mutex groups: stages sharing a group never run at once; `"*"` runs alone. */
  mutex?: readonly string[];
  /** Extra permissions (see {@link StagePermissions}). */
  permissions?: StagePermissions;
  /** The function that computes the outs. */
  run: StageFunction<D, O, P>;
}

/** Changes applied when a reusable stage definition is registered. */
export interface StageOverrides<D extends Deps, O extends Outs, P extends ParamsSpec> {
  /** Stage name; `train@small` makes variant `small` of `train`. */
  name?: string;
  /** Param values replacing the defaults. */
  params?: Partial<ParamsOf<P>>;
  /** New paths for deps, by name. */
  deps?: { [K in keyof D]?: string };
  /** New paths for outs, by name. */
  outs?: { [K in keyof O]?: string };
  /** Replaces the mutex groups. */
  mutex?: readonly string[];
}
