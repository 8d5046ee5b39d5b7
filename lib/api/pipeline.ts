/**
 * `Pipeline`, `defineStage` and the record of each registered stage.
 *
 * Registering a stage only records it: nothing is read, hashed or run at
 * import time, because every worker imports the pipeline file too.
 *
 * @example
 * ```ts
 * import { loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * export const pipeline = new Pipeline("hello");
 * pipeline.stage({
 *   name: "greet",
 *   outs: { greeting: out("greeting.txt", loaders.text()) },
 *   run: () => ({ greeting: "hello\n" }),
 * });
 * ```
 *
 * @module
 */

import { loaderSpecOf } from "../model/loader_spec.ts";
import { isFilesSpec } from "../model/returned_files.ts";
import type { CallSite } from "../model/stage_def.ts";
import { isOwnCode } from "../own_code.ts";
import { PipelineDefinitionError } from "./definition_error.ts";
import type { Dep, Out } from "./artifacts.ts";

export { PipelineDefinitionError };
import type {
  Deps,
  Outs,
  ParamsSpec,
  StageOverrides,
  StagePermissions,
  StageSpec,
} from "./stage.ts";

export type { CallSite };

/**
 * A stage as registered, listed by `pipeline.stages`: its declarations
 * with overrides applied, before paths are resolved against the project.
 *
 * @example
 * ```ts
 * import { loaders, out, Pipeline, type RegisteredStage } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * const pipeline = new Pipeline("listed");
 * pipeline.stage({
 *   name: "fit",
 *   outs: { model: out("model.json", loaders.json()) },
 *   run: () => ({ model: {} }),
 * });
 * const [fit]: readonly RegisteredStage[] = pipeline.stages;
 * assert.equal(fit?.name, "fit");
 * assert.equal(fit?.outs.model?.path, "model.json");
 * ```
 */
export interface RegisteredStage {
  /** Full name (`train` or `train@small`). */
  readonly name: string;
  /** Name without the variant. */
  readonly baseName: string;
  /** Variant, for `name@variant`. */
  readonly variant: string | undefined;
  /** Deps with their (possibly overridden) relative paths. */
  readonly deps: Readonly<Record<string, Dep<unknown>>>;
  /** Outs with their (possibly overridden) relative paths. */
  readonly outs: Readonly<Record<string, Out<unknown>>>;
  /** Plain defaults or a Standard Schema, or `undefined` for a stage without params. */
  readonly params: ParamsSpec | undefined;
  /** Values that replace defaults (from `register` overrides). */
  readonly paramOverrides: Readonly<Record<string, unknown>>;
  /** Mutex groups (see {@link StageSpec.mutex}). */
  readonly mutex: readonly string[];
  /** Extra permissions (see {@link StagePermissions}). */
  readonly permissions: StagePermissions;
  /** The run function, with its types erased. */
  readonly run: (deps: never, ctx: never) => unknown;
  /**
   * Where `pipeline.stage(...)` or `pipeline.register(...)` was called. Line
   * and column are 0 for stages registered after {@link EXACT_SITES} calls
   * from distinct places (straight-line code): the fingerprint then finds the
   * call by the stage's name (see {@link EXACT_SITES}).
   */
  readonly site: CallSite;
  /** Where `defineStage(...)` was called, for registered definitions. */
  readonly definitionSite: CallSite | undefined;
}

/**
 * How many stages of a pipeline record exactly where they were registered
 * before the pipeline decides whether it still needs to. Finding the caller
 * means creating an `Error`, and V8 then resolves the caller's source
 * position by walking the calling function's position table from its start:
 * a cost that grows with the position of the call in its function, so 10,000
 * `pipeline.stage()` calls written one after the other in a module cost
 * seconds (quadratic). When the first {@link EXACT_SITES} stages all come from
 * distinct calls (code written out, not a loop or a helper function), later
 * stages record only the module (line 0) and the fingerprint finds their call
 * by the stage's literal name, falling back to whole modules when that is
 * ambiguous. Stages registered from a loop or a helper keep exact sites: the
 * calling function is small there, and finding the caller is cheap.
 */
export const EXACT_SITES = 50;

/**
 * A reusable stage made by {@link defineStage}, registered (once or several
 * times) with `pipeline.register()`.
 *
 * @typeParam D The deps.
 * @typeParam O The outs.
 * @typeParam P The params.
 *
 * @example
 * ```ts
 * import { defineStage, type Deps, loaders, out, type StageDefinition } from "jsr:@pivot/core";
 *
 * const outs = { text: out("report.txt", loaders.text()) };
 *
 * // An explicit type, as JSR asks of exports.
 * export const report: StageDefinition<Deps, typeof outs> = defineStage({
 *   name: "report",
 *   outs,
 *   run: () => ({ text: "ok" }),
 * });
 * ```
 */
export interface StageDefinition<
  D extends Deps = Deps,
  O extends Outs = Outs,
  P extends ParamsSpec = ParamsSpec,
> {
  /** The spec it was defined with. */
  readonly spec: StageSpec<D, O, P>;
  /** Where `defineStage(...)` was called. */
  readonly site: CallSite;
}

/** A stage spec with its types erased, as the registry stores it. */
type AnySpec = Omit<StageSpec, "run"> & {
  deps?: Deps;
  outs?: Outs;
  params?: ParamsSpec;
  run: RegisteredStage["run"];
};
type AnyOverrides = StageOverrides<Deps, Outs, ParamsSpec>;

/** Brand by which loaders recognise a pipeline, across copies of this module. */
export const PIPELINE_BRAND: unique symbol = Symbol.for("pivot.pipeline");

/**
 * True when `value` is a {@link Pipeline}, from this copy of the module or
 * another (a user's pipeline may import Pivot by another URL than the CLI).
 */
export function isPipeline(value: unknown): value is Pipeline {
  return typeof value === "object" && value !== null && PIPELINE_BRAND in value;
}

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/**
 * A named set of stages. Create one in `pipeline.ts`, export it, and add
 * stages with `pipeline.stage()` or `pipeline.register()`; `pivot`
 * finds the exported pipeline and runs its stages.
 *
 * Registering only records a stage: nothing is read or run when the file is
 * imported.
 *
 * @example
 * ```ts
 * import { loaders, out, Pipeline } from "jsr:@pivot/core";
 * import assert from "node:assert/strict";
 *
 * export const pipeline = new Pipeline("my_pipeline");
 * pipeline.stage({
 *   name: "hello",
 *   outs: { message: out("message.txt", loaders.text()) },
 *   run: () => ({ message: "hi\n" }),
 * });
 *
 * assert.deepEqual(pipeline.stages.map((stage) => stage.name), ["hello"]);
 * ```
 */
export class Pipeline {
  /** @ignore */
  readonly [PIPELINE_BRAND] = true;
  /** The pipeline's name, as given to the constructor. */
  readonly name: string;
  /** Where the pipeline was created. */
  readonly site: CallSite;
  #stages: RegisteredStage[] = [];
  readonly #names = new Set<string>();
  /** Distinct sites among the first {@link EXACT_SITES} registrations. */
  readonly #firstSites = new Set<string>();
  #registered = 0;
  /** The module of the last exact site, for sites past {@link EXACT_SITES}. */
  #lastUrl = "unknown";

  /**
   * Create a pipeline.
   *
   * @param name Letters, digits, `_` and `-`.
   * @throws {PipelineDefinitionError} For any other name.
   */
  constructor(name: string) {
    this.site = callerSite();
    if (typeof name !== "string" || !NAME_PATTERN.test(name)) {
      throw new PipelineDefinitionError(
        `${formatSite(this.site)}: invalid pipeline name ${
          JSON.stringify(name)
        }: use letters, digits, '_' and '-'`,
      );
    }
    this.name = name;
  }

  /**
   * The stages registered so far, in registration order.
   *
   * @example
   * ```ts
   * import { Pipeline } from "jsr:@pivot/core";
   * import assert from "node:assert/strict";
   *
   * const pipeline = new Pipeline("two")
   *   .stage({ name: "first", run: () => {} })
   *   .stage({ name: "second", run: () => {} });
   * assert.deepEqual(pipeline.stages.map((stage) => stage.name), ["first", "second"]);
   * ```
   */
  get stages(): readonly RegisteredStage[] {
    return this.#stages;
  }

  /**
   * Register a stage. The type of `run`'s first argument comes from the dep
   * loaders, and what it returns is checked against the out loaders, so a
   * mismatch is a `deno check` error.
   *
   * @typeParam D The deps, inferred from `spec.deps`.
   * @typeParam O The outs, inferred from `spec.outs`.
   * @typeParam P The params, inferred from `spec.params`.
   * @param spec The stage: name, deps, outs, params, run function.
   * @returns This pipeline, so calls can be chained.
   * @throws {PipelineDefinitionError} When the stage has no run function or
   * no name, its name is invalid or taken, or a dep or out has no path.
   *
   * @example
   * ```ts
   * import { dep, loaders, out, Pipeline } from "jsr:@pivot/core";
   *
   * export const pipeline = new Pipeline("words");
   * pipeline.stage({
   *   name: "count",
   *   deps: { text: dep("book.txt", loaders.text()) },
   *   outs: { counts: out("counts.json", loaders.json<Record<string, number>>()) },
   *   params: { minLength: 3 },
   *   run: ({ text }, { params }) => {
   *     const counts: Record<string, number> = {};
   *     for (const word of text.split(/\W+/)) {
   *       if (word.length >= params.minLength) counts[word] = (counts[word] ?? 0) + 1;
   *     }
   *     return { counts };
   *   },
   * });
   * ```
   */
  stage<
    D extends Deps = Record<never, never>,
    O extends Outs = Record<never, never>,
    P extends ParamsSpec = Record<never, never>,
  >(spec: StageSpec<D, O, P>): this {
    this.#add(spec as unknown as AnySpec, {}, this.#site(), undefined);
    return this;
  }

  /**
   * Register a reusable definition from {@link defineStage}, replacing its
   * name, params, dep paths, out paths or mutex groups. A name
   * `base@variant` makes a variant; `ctx.variant` tells the run function
   * which.
   *
   * @typeParam D The definition's deps.
   * @typeParam O The definition's outs.
   * @typeParam P The definition's params.
   * @param definition What {@link defineStage} returned.
   * @param overrides What to replace; the definition's values stay otherwise.
   * @returns This pipeline, so calls can be chained.
   * @throws {PipelineDefinitionError} As `pipeline.stage()` does, and for
   * an override that names an unknown dep or out.
   *
   * @example Two variants of one definition
   * ```ts
   * import { defineStage, dep, loaders, out, Pipeline } from "jsr:@pivot/core";
   * import assert from "node:assert/strict";
   *
   * const train = defineStage({
   *   name: "train",
   *   deps: { data: dep("data/full.csv", loaders.csv()) },
   *   outs: { model: out("models/full.json", loaders.json<{ rows: number }>()) },
   *   params: { epochs: 10 },
   *   run: ({ data }) => ({ model: { rows: data.length } }),
   * });
   *
   * export const pipeline = new Pipeline("variants")
   *   .register(train)
   *   .register(train, {
   *     name: "train@small",
   *     deps: { data: "data/small.csv" },
   *     outs: { model: "models/small.json" },
   *     params: { epochs: 1 },
   *   });
   *
   * assert.deepEqual(pipeline.stages.map((stage) => stage.name), ["train", "train@small"]);
   * ```
   */
  register<D extends Deps, O extends Outs, P extends ParamsSpec>(
    definition: StageDefinition<D, O, P>,
    overrides?: NoInfer<StageOverrides<D, O, P>>,
  ): this {
    this.#add(
      definition.spec as unknown as AnySpec,
      (overrides ?? {}) as AnyOverrides,
      this.#site(),
      definition.site,
    );
    return this;
  }

  /** The caller's site, or its module alone past {@link EXACT_SITES} distinct sites. */
  #site(): CallSite {
    const straightLine = this.#registered >= EXACT_SITES &&
      this.#firstSites.size === EXACT_SITES;
    this.#registered++;
    if (straightLine) return { url: this.#lastUrl, line: 0, column: 0 };
    const site = callerSite();
    if (this.#registered <= EXACT_SITES) {
      this.#firstSites.add(`${site.url}:${site.line}:${site.column}`);
    }
    this.#lastUrl = site.url;
    return site;
  }

  #add(
    spec: AnySpec,
    overrides: AnyOverrides,
    site: CallSite,
    definitionSite: CallSite | undefined,
  ): void {
    // Messages name the caller: found when needed, while it is still on the stack.
    const where = () => formatSite(site.line > 0 ? site : callerSite());
    if (typeof spec?.run !== "function") {
      throw new PipelineDefinitionError(
        `${where()}: stage has no run function: add run: (deps, ctx) => …`,
      );
    }
    const name = overrides.name ?? spec.name ?? nameOfFunction(spec.run);
    if (name === undefined) {
      throw new PipelineDefinitionError(
        `${where()}: stage has no name: add name: "…" or pass a named function as run`,
      );
    }
    // A plain name (no variant) is checked by one test; split() always
    // returns at least one element: baseName is never undefined.
    const [baseName = "", variant, extra] = typeof name === "string" && !name.includes("@")
      ? [name]
      : name.split("@");
    if (
      !NAME_PATTERN.test(baseName) || extra !== undefined ||
      (variant !== undefined && !NAME_PATTERN.test(variant))
    ) {
      throw new PipelineDefinitionError(
        `${where()}: invalid stage name ${
          JSON.stringify(name)
        }: use letters, digits, '_' and '-' (and '@' only before a variant)`,
      );
    }
    if (this.#names.has(name)) {
      throw new PipelineDefinitionError(
        `${where()}: stage '${name}' is defined twice in pipeline '${this.name}': give one a different name`,
      );
    }
    const deps = withPaths(spec.deps, overrides.deps, "dep", name, where);
    const outs = withPaths(spec.outs, overrides.outs, "out", name, where);
    const mutex = overrides.mutex ?? spec.mutex;
    this.#names.add(name);
    this.#stages.push({
      name,
      baseName,
      variant,
      deps,
      outs,
      params: spec.params,
      // Shared empties where nothing was given: a stage costs less to register.
      paramOverrides: overrides.params === undefined ? NONE : { ...overrides.params },
      mutex: mutex === undefined || mutex.length === 0 ? NO_MUTEX : [...mutex],
      permissions: spec.permissions ?? NONE,
      run: spec.run,
      site,
      definitionSite,
    });
  }
}

/**
 * Define a reusable stage without registering it; register it (possibly
 * several times, with other names, paths or params) with
 * `pipeline.register()`. The spec is typed and checked as
 * `pipeline.stage()` checks it.
 *
 * @typeParam D The deps, inferred from `spec.deps`.
 * @typeParam O The outs, inferred from `spec.outs`.
 * @typeParam P The params, inferred from `spec.params`.
 * @param spec The stage: name, deps, outs, params, run function.
 * @returns The definition, to pass to `pipeline.register()`.
 *
 * @example A definition shared by two pipelines
 * ```ts
 * import { defineStage, loaders, out, Pipeline } from "jsr:@pivot/core";
 *
 * const stamp = defineStage({
 *   name: "stamp",
 *   outs: { stamp: out("stamp.txt", loaders.text()) },
 *   run: () => ({ stamp: new Date().toISOString() }),
 * });
 *
 * export const nightly = new Pipeline("nightly").register(stamp);
 * export const weekly = new Pipeline("weekly").register(stamp, { outs: { stamp: "weekly.txt" } });
 * ```
 */
export function defineStage<
  D extends Deps = Record<never, never>,
  O extends Outs = Record<never, never>,
  P extends ParamsSpec = Record<never, never>,
>(spec: StageSpec<D, O, P>): StageDefinition<D, O, P> {
  return { spec, site: callerSite() };
}

const NONE: Readonly<Record<string, never>> = Object.freeze({});
const NO_MUTEX: readonly string[] = Object.freeze([]);

function withPaths<T extends Dep<unknown> | Out<unknown>>(
  declared: Record<string, T> | undefined,
  paths: Record<string, string | undefined> | undefined,
  what: "dep" | "out",
  stage: string,
  where: () => string,
): Record<string, T> {
  const result: Record<string, T> = {};
  if (declared === undefined) {
    if (paths !== undefined) checkOverrides({}, paths, what, stage, where);
    return result;
  }
  for (const key of Object.keys(declared)) {
    const decl = declared[key];
    if (typeof decl?.path !== "string" || decl.path === "") {
      throw new PipelineDefinitionError(
        `${where()}: stage '${stage}': ${what} '${key}' has no path: use ${what}("path/to/file", …)`,
      );
    }
    const path = paths?.[key];
    const artifact = path === undefined ? decl : { ...decl, path };
    if (isFilesSpec(loaderSpecOf(artifact.loader))) checkFilesArtifact(artifact, key, stage, where);
    result[key] = artifact;
  }
  if (paths !== undefined) checkOverrides(declared, paths, what, stage, where);
  return result;
}

/** Throws unless a `loaders.files()` dep or out is a directory that is not incremental. */
function checkFilesArtifact(
  artifact: Dep<unknown> | Out<unknown>,
  key: string,
  stage: string,
  where: () => string,
): void {
  const what = artifact.kind === "dep" ? "dep" : "out";
  if (!artifact.path.endsWith("/")) {
    throw new PipelineDefinitionError(
      `${where()}: stage '${stage}': ${what} '${key}' (${artifact.path}) uses loaders.files(), which is for a directory: end its path with '/'`,
    );
  }
  if (artifact.kind === "incremental") {
    throw new PipelineDefinitionError(
      `${where()}: stage '${stage}': out '${key}' (${artifact.path}) is incremental, but a directory returned with loaders.files() is written whole each run: declare it with out(), or write into it at ctx.outs.${key}`,
    );
  }
}

/** Throws when `paths` overrides a dep or out that `declared` lacks. */
function checkOverrides(
  declared: Record<string, unknown>,
  paths: Record<string, string | undefined>,
  what: "dep" | "out",
  stage: string,
  where: () => string,
): void {
  for (const key of Object.keys(paths)) {
    if (!(key in declared)) {
      throw new PipelineDefinitionError(
        `${where()}: stage '${stage}': override names unknown ${what} '${key}' (known: ${
          Object.keys(declared).join(", ") || "none"
        })`,
      );
    }
  }
}

function nameOfFunction(fn: { name: string }): string | undefined {
  // An inline `run: () => …` is named "run" by JavaScript; that is not a name.
  const name = fn.name?.replace(/^bound /, "");
  return name && name !== "run" && name !== "anonymous" ? name : undefined;
}

/** The parts of V8's structured call site (Deno maps its line and column to the TypeScript source) read here. */
interface V8CallSite {
  getScriptNameOrSourceURL(): string | null | undefined;
  getLineNumber(): number | null;
  getColumnNumber(): number | null;
}

/** V8's hooks on `Error` that {@link callerSite} uses (not in the TypeScript library). */
type V8ErrorConstructor = ErrorConstructor & {
  prepareStackTrace?: (error: Error, sites: V8CallSite[]) => unknown;
  captureStackTrace(target: object, below?: (...args: never[]) => unknown): void;
};

const V8Error = Error as V8ErrorConstructor;
const asCallSites = (_error: Error, sites: V8CallSite[]): V8CallSite[] => sites;
const FRAME_URL = /^(?:file|https?|jsr|npm):/;

/**
 * The first stack frame outside Pivot's own modules. The frames are V8's
 * structured call sites, not the text of `new Error().stack`: formatting and
 * parsing that text cost about half of each call, and a module's URL came
 * back decoded (a `#` or `%` in a path misread).
 */
function callerSite(): CallSite {
  const holder: { stack?: unknown } = {};
  const hadHook = Object.hasOwn(V8Error, "prepareStackTrace");
  const hook = V8Error.prepareStackTrace;
  V8Error.prepareStackTrace = asCallSites;
  let frames: unknown;
  try {
    V8Error.captureStackTrace(holder, callerSite);
    frames = holder.stack; // built now, while the hook is ours
  } finally {
    if (hadHook) V8Error.prepareStackTrace = hook;
    else Reflect.deleteProperty(V8Error, "prepareStackTrace");
  }
  for (const frame of Array.isArray(frames) ? frames as V8CallSite[] : []) {
    const url = frame.getScriptNameOrSourceURL();
    if (typeof url !== "string" || !FRAME_URL.test(url) || !URL.canParse(url)) continue;
    if (!isOwnCode(url)) {
      return { url, line: frame.getLineNumber() ?? 0, column: frame.getColumnNumber() ?? 0 };
    }
  }
  return { url: "unknown", line: 0, column: 0 };
}

/** `pipeline.ts:12` for messages (`pipeline.ts` when the line is unknown). */
export function formatSite(site: CallSite): string {
  const file = site.url.startsWith("file://")
    ? decodeURIComponent(new URL(site.url).pathname)
    : site.url;
  return site.line > 0 ? `${file}:${site.line}` : file;
}
