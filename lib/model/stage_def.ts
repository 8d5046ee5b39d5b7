/**
 * A stage resolved against its project: paths made project-relative, params
 * resolved to values, the place of its code known. The pipeline loaders make
 * these; the graph, fingerprint, worker, engine and storage work on them and
 * never see the loaders.
 *
 * The declaration types both sides need (out kinds, call sites; loader specs
 * in `loader_spec.ts`) are defined at this bottom layer too, and re-exported
 * by the user API (`lib/api/`).
 *
 * @module
 */

import type { LoaderSpec } from "./loader_spec.ts";

export type { LoaderSpec };

/**
 * The kinds of outs: `"out"` (cached), `"metric"` (small JSON, not cached,
 * meant for git), `"plot"` (cached, shown by `pivot plots`) and
 * `"incremental"` (restored from the cache as a writable copy before the
 * stage runs). Each is declared by the function of the same name.
 *
 * @example
 * ```ts
 * import { metric, type OutKind } from "jsr:@pivot/core";
 *
 * const kind: OutKind = metric("metrics.json").kind; // "metric"
 * ```
 */
export type OutKind = "out" | "metric" | "plot" | "incremental";

/**
 * Where in your code a pipeline or stage was declared, taken from the call
 * stack; Pivot names it in errors (`pipeline.ts:12`).
 *
 * @example
 * ```ts
 * import { type CallSite, Pipeline } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const site: CallSite = new Pipeline("where").site;
 * assert.equal(typeof site.line, "number"); // 1-based, 0 when unknown
 * ```
 */
export interface CallSite {
  /** Module URL (`file:///…/pipeline.ts`), or `"unknown"` when the stack has none. */
  readonly url: string;
  /** 1-based line, or 0 when unknown. */
  readonly line: number;
  /** 1-based column, or 0 when unknown. */
  readonly column: number;
}
/**
 * How `pivot plots` draws a data plot: `"linear"` (lines), `"scatter"`
 * (points), `"bar"`, or `"confusion"` (a confusion matrix counting rows by
 * actual class, `x`, and predicted class, `y`).
 *
 * @example
 * ```ts
 * import { loaders, plot, type PlotTemplate } from "jsr:@pivot/core";
 *
 * const template: PlotTemplate = "scatter";
 * const points = plot("points.csv", loaders.csv(), { x: "a", y: "b", template });
 * ```
 */
export type PlotTemplate = "linear" | "scatter" | "bar" | "confusion";

/**
 * How `pivot plots show` and `pivot plots diff` draw a data plot (a CSV, TSV,
 * JSON or JSON Lines file of rows). Image plots (`.png`, `.svg`, …) are
 * shown as they are and need none of these. See docs/plots.md.
 *
 * @example
 * ```ts
 * import { loaders, plot, type PlotDisplay } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const roc: PlotDisplay = { x: "fpr", y: "tpr", template: "linear", title: "ROC" };
 * assert.deepEqual(plot("roc.csv", loaders.csv(), roc).plot, roc);
 * ```
 */
export interface PlotDisplay {
  /** `"linear"` (the default), `"scatter"`, `"bar"` or `"confusion"`: see {@link PlotTemplate}. */
  readonly template?: PlotTemplate | undefined;
  /**
   * The column on the x axis; the actual class for `"confusion"`. Default:
   * the row's position, shown as `step` (a column named `step` is used as it is).
   */
  readonly x?: string | undefined;
  /**
   * The column on the y axis, or several (one series each); the predicted
   * class for `"confusion"`. Default: the last column other than `x`.
   */
  readonly y?: string | readonly string[] | undefined;
  /** The chart's title. Default: the plot's path heads it. */
  readonly title?: string | undefined;
  /** The x axis title. Default: the `x` column's name. */
  readonly xLabel?: string | undefined;
  /** The y axis title. Default: the `y` column's name. */
  readonly yLabel?: string | undefined;
}

/** A declared dep or out, resolved. */
export interface ArtifactDef {
  /** The key in the stage's `deps` or `outs`. */
  readonly name: string;
  /** Project-relative POSIX path, without a trailing slash. */
  readonly path: string;
  /** Absolute path. */
  readonly abs: string;
  /** Declared with a trailing `/`: a directory. */
  readonly isDir: boolean;
  /**
   * The kind (file or directory) was inferred, not declared: a command
   * stage's path written without a trailing `/` is whatever is there (see
   * {@link ArtifactDef.isDir} for the best guess before it exists).
   */
  readonly kindInferred?: boolean;
  /** The built-in loader's kind and options, or undefined for a custom loader. */
  readonly loader: LoaderSpec | undefined;
}

/** A resolved dep. */
export type DepDef = ArtifactDef;

/** A resolved out. */
export interface OutDef extends ArtifactDef {
  /** `out`, `metric`, `plot` or `incremental`. */
  readonly kind: OutKind;
  /** Stored in the cache. */
  readonly cache: boolean;
  /** Written by the stage itself (path-only), not from a returned value. */
  readonly selfWritten: boolean;
  /** For a `plot` declared with options: how `pivot plots` draws it. */
  readonly plot?: PlotDisplay;
  /**
   * A command stage's out that is not removed before the command runs
   * (DVC's `persist: true`); function stages say `incremental` instead.
   */
  readonly persist?: boolean;
}

/** The pipeline a stage belongs to. */
export interface PipelineRef {
  /** The pipeline's name. */
  readonly name: string;
  /** Absolute path of `pipeline.ts` or `pivot.yaml`. */
  readonly file: string;
  /** Absolute directory of that file; the base of the pipeline's paths. */
  readonly dir: string;
}

/**
 * Where a stage's run function is, for the fingerprint (static analysis) and
 * for the worker (to import and call it).
 */
export type CodeRef =
  | {
    /** Registered from TypeScript with `pipeline.stage` or `pipeline.register`. */
    readonly kind: "registered";
    /** URL of the pipeline module the worker imports. */
    readonly moduleUrl: string;
    /** `pipeline.stage(...)` / `pipeline.register(...)` call site. */
    readonly site: CallSite;
    /** `defineStage(...)` call site, for registered definitions. */
    readonly definitionSite: CallSite | undefined;
    /** `run.name` at runtime ("" for anonymous functions). */
    readonly functionName: string;
    /**
     * The stage's name in its pipeline, when the graph knows it by another:
     * a stage included from another pipeline whose name was taken is
     * `<pipeline>/<name>` (see docs/multi-pipeline.md). The worker finds the
     * registered stage by this name. Undefined: the stage's own name.
     */
    readonly stageName?: string;
  }
  | {
    /** Named in `pivot.yaml` as `module.ts#export`. */
    readonly kind: "export";
    /** URL of the module holding the function. */
    readonly moduleUrl: string;
    /** Its export name. */
    readonly exportName: string;
  }
  | CommandRef;

/**
 * A command stage's code: shell commands (`cmd:` in `pivot.yaml`), run one
 * after another in a process each (see docs/command-stages.md).
 */
export interface CommandRef {
  /** Discriminant. */
  readonly kind: "command";
  /** The commands after interpolation, in order (a multi-line `cmd` is one per line). */
  readonly commands: readonly string[];
  /** The `cmd` as written after interpolation (a string or a list), which the fingerprint hashes. */
  readonly cmd: string | readonly string[];
  /** Absolute working directory (`wdir`, default the pipeline file's directory). */
  readonly wdir: string;
  /** xxhash64 of the command and its working directory: the manifest's `cmd` entry. */
  readonly hash: string;
  /**
   * The params it names, as declared: a params file (relative to `wdir`) and
   * its dotted keys, or no keys for the whole file. Their values are in
   * {@link StageDef.params}: those of `params.yaml` by key (`train.epochs`),
   * those of another file under its name, then by key.
   */
  readonly params: readonly {
    readonly file: string;
    readonly keys: readonly string[] | undefined;
  }[];
  /** Where the stage is declared, project-relative (`pivot.yaml`) and its 1-based line. */
  readonly site: { readonly file: string; readonly line: number };
  /**
   * Absolute paths of the files its definition read besides the pipeline
   * file: params files and `vars` files. A change to one reloads the pipeline
   * in watch mode.
   */
  readonly files: readonly string[];
}

/** A pipeline file, loaded: the pipeline and its stages. */
export interface LoadedPipeline {
  /** The pipeline itself. */
  readonly ref: PipelineRef;
  /** Its stages, resolved, in registration order. */
  readonly stages: readonly StageDef[];
}

/** Extra permissions, resolved (read paths absolute). */
export interface ResolvedPermissions {
  /** Extra absolute paths the stage may read. */
  readonly read: readonly string[];
  /** Net/env/run/ffi/sys: `true` for all, a list, or `false`. */
  readonly net: boolean | readonly string[];
  /** Environment variables. */
  readonly env: boolean | readonly string[];
  /** Subprocesses. */
  readonly run: boolean | readonly string[];
  /** Native libraries. */
  readonly ffi: boolean | readonly string[];
  /** System information. */
  readonly sys: boolean | readonly string[];
}

/** A stage, resolved. */
export interface StageDef {
  /** Full name (`train` or `train@small`). */
  readonly name: string;
  /** Name without variant. */
  readonly baseName: string;
  /** Variant name, if any. */
  readonly variant: string | undefined;
  /** Its pipeline. */
  readonly pipeline: PipelineRef;
  /** Deps in declaration order. */
  readonly deps: readonly DepDef[];
  /** Outs in declaration order. */
  readonly outs: readonly OutDef[];
  /** Resolved param values (defaults, overrides, `params.yaml`), validated. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Mutex groups (`"*"`: runs alone). */
  readonly mutex: readonly string[];
  /** Extra permissions. */
  readonly permissions: ResolvedPermissions;
  /** Absolute path of the stage's lock file. */
  readonly lockFile: string;
  /** Where its run function is, or its command. */
  readonly code: CodeRef;
  /**
   * Never run (DVC's `frozen: true`): changed deps, params or code are
   * ignored; its outs are restored from the cache, or must be there.
   */
  readonly frozen?: boolean;
  /** Run on every `repro` (DVC's `always_changed: true`), as if forced. */
  readonly alwaysChanged?: boolean;
}

/**
 * The module URL a stage's code lives in, or undefined for a command stage.
 *
 * @example
 * ```ts
 * const stage = { code: { kind: "export", moduleUrl: "file:///p/s.ts", exportName: "f" } };
 * moduleUrlOf(stage as unknown as StageDef); // "file:///p/s.ts"
 * ```
 */
export function moduleUrlOf(stage: StageDef): string | undefined {
  return stage.code.kind === "command" ? undefined : stage.code.moduleUrl;
}
