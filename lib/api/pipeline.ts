/**
 * `Pipeline`, `defineStage` and the record of each registered stage.
 *
 * Registering a stage only records it: nothing is read, hashed or run at
 * import time, because every worker imports the pipeline file too.
 *
 * @module
 */

import type { Dep, Out } from "./artifacts.ts";
import type {
  Deps,
  Outs,
  ParamsSpec,
  StageOverrides,
  StagePermissions,
  StageSpec,
} from "./stage.ts";

/** Where in the user's code something was declared (from the call stack). */
export interface CallSite {
  /** Module URL (`file:///…/pipeline.ts`). */
  readonly url: string;
  /** 1-based line. */
  readonly line: number;
  /** 1-based column. */
  readonly column: number;
}

/** A stage as registered, before paths are resolved against the project. */
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
  /** Plain defaults or a Standard Schema. */
  readonly params: ParamsSpec | undefined;
  /** Values that replace defaults (from `register` overrides). */
  readonly paramOverrides: Readonly<Record<string, unknown>>;
  /** Mutex groups. */
  readonly mutex: readonly string[];
  /** Extra permissions. */
  readonly permissions: StagePermissions;
  /** The run function. */
  readonly run: (deps: never, ctx: never) => unknown;
  /** Where `pipeline.stage(...)` or `pipeline.register(...)` was called. */
  readonly site: CallSite;
  /** Where `defineStage(...)` was called, for registered definitions. */
  readonly definitionSite: CallSite | undefined;
}

/** A reusable stage made by {@link defineStage}, registered with `pipeline.register`. */
export interface StageDefinition<
  D extends Deps = Deps,
  O extends Outs = Outs,
  P extends ParamsSpec = ParamsSpec,
> {
  /** The spec it was defined with. */
  readonly spec: StageSpec<D, O, P>;
  /** Where it was defined. */
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

const NAME_PATTERN = /^[A-Za-z0-9_-]+$/;

/** Thrown for a mistake in a pipeline definition; the message names the place. */
export class PipelineDefinitionError extends Error {
  override name = "PipelineDefinitionError";
}

/**
 * A named set of stages. Export it from `pipeline.ts`.
 *
 * @example
 * ```ts
 * export const pipeline = new Pipeline("my_pipeline");
 * pipeline.stage({ name: "hello", outs: { msg: out("msg.txt", loaders.text()) }, run: () => ({ msg: "hi" }) });
 * ```
 */
export class Pipeline {
  /** Brand (see {@link PIPELINE_BRAND}). */
  readonly [PIPELINE_BRAND] = true;
  /** The pipeline's name. */
  readonly name: string;
  /** Where the pipeline was created. */
  readonly site: CallSite;
  #stages: RegisteredStage[] = [];

  /** Create a pipeline named `name` (letters, digits, `_` and `-`). */
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

  /** The stages registered so far, in registration order. */
  get stages(): readonly RegisteredStage[] {
    return this.#stages;
  }

  /**
   * Register a stage. Its deps and outs are typed from their loaders, and its
   * run function is checked against them.
   */
  stage<
    D extends Deps = Record<never, never>,
    O extends Outs = Record<never, never>,
    P extends ParamsSpec = Record<never, never>,
  >(spec: StageSpec<D, O, P>): this {
    this.#add(spec as unknown as AnySpec, {}, callerSite(), undefined);
    return this;
  }

  /**
   * Register a reusable definition from {@link defineStage}, replacing its
   * name, params, dep paths or out paths. A name `base@variant` makes a variant.
   */
  register<D extends Deps, O extends Outs, P extends ParamsSpec>(
    definition: StageDefinition<D, O, P>,
    overrides: NoInfer<StageOverrides<D, O, P>> = {},
  ): this {
    this.#add(
      definition.spec as unknown as AnySpec,
      overrides as AnyOverrides,
      callerSite(),
      definition.site,
    );
    return this;
  }

  #add(
    spec: AnySpec,
    overrides: AnyOverrides,
    site: CallSite,
    definitionSite: CallSite | undefined,
  ): void {
    const where = formatSite(site);
    if (typeof spec?.run !== "function") {
      throw new PipelineDefinitionError(
        `${where}: stage has no run function: add run: (deps, ctx) => …`,
      );
    }
    const name = overrides.name ?? spec.name ?? nameOfFunction(spec.run);
    if (name === undefined) {
      throw new PipelineDefinitionError(
        `${where}: stage has no name: add name: "…" or pass a named function as run`,
      );
    }
    const [baseName, variant, extra] = name.split("@");
    if (
      !NAME_PATTERN.test(baseName) || extra !== undefined ||
      (variant !== undefined && !NAME_PATTERN.test(variant))
    ) {
      throw new PipelineDefinitionError(
        `${where}: invalid stage name ${
          JSON.stringify(name)
        }: use letters, digits, '_' and '-' (and '@' only before a variant)`,
      );
    }
    if (this.#stages.some((stage) => stage.name === name)) {
      throw new PipelineDefinitionError(
        `${where}: stage '${name}' is defined twice in pipeline '${this.name}': give one a different name`,
      );
    }
    this.#stages.push({
      name,
      baseName,
      variant,
      deps: withPaths(spec.deps ?? {}, overrides.deps, "dep", name, where),
      outs: withPaths(spec.outs ?? {}, overrides.outs, "out", name, where),
      params: spec.params,
      paramOverrides: { ...(overrides.params ?? {}) },
      mutex: [...(overrides.mutex ?? spec.mutex ?? [])],
      permissions: spec.permissions ?? {},
      run: spec.run,
      site,
      definitionSite,
    });
  }
}

/**
 * Define a reusable stage, registered (possibly several times, with other
 * paths or params) by `pipeline.register(definition, overrides)`.
 */
export function defineStage<
  D extends Deps = Record<never, never>,
  O extends Outs = Record<never, never>,
  P extends ParamsSpec = Record<never, never>,
>(spec: StageSpec<D, O, P>): StageDefinition<D, O, P> {
  return { spec, site: callerSite() };
}

function withPaths<T extends Dep<unknown> | Out<unknown>>(
  declared: Record<string, T>,
  paths: Record<string, string | undefined> | undefined,
  what: "dep" | "out",
  stage: string,
  where: string,
): Record<string, T> {
  const result: Record<string, T> = {};
  for (const [key, decl] of Object.entries(declared)) {
    if (typeof decl?.path !== "string" || decl.path === "") {
      throw new PipelineDefinitionError(
        `${where}: stage '${stage}': ${what} '${key}' has no path: use ${what}("path/to/file", …)`,
      );
    }
    const path = paths?.[key];
    result[key] = path === undefined ? decl : { ...decl, path };
  }
  for (const key of Object.keys(paths ?? {})) {
    if (!(key in declared)) {
      throw new PipelineDefinitionError(
        `${where}: stage '${stage}': override names unknown ${what} '${key}' (known: ${
          Object.keys(declared).join(", ") || "none"
        })`,
      );
    }
  }
  return result;
}

function nameOfFunction(fn: { name: string }): string | undefined {
  // An inline `run: () => …` is named "run" by JavaScript; that is not a name.
  const name = fn.name?.replace(/^bound /, "");
  return name && name !== "run" && name !== "anonymous" ? name : undefined;
}

const API_DIR = new URL("../", import.meta.url).href;
// `at fn (URL:line:column)` or `at URL:line:column`. Deno prints file URLs
// decoded, so the URL may hold spaces and parentheses: it runs from the first
// scheme after a space or `(` to the last `:line:column`.
const FRAME = /(?:^|[\s(])((?:file|https?|jsr|npm):.+?):(\d+):(\d+)\)?$/;

/** The first stack frame outside Pivot's own API modules. */
function callerSite(): CallSite {
  for (const line of (new Error().stack ?? "").split("\n").slice(1)) {
    const match = FRAME.exec(line.trim());
    if (!match || !URL.canParse(match[1])) continue;
    // Re-encoded (spaces as %20), so it equals the module's import.meta.url.
    const url = new URL(match[1]).href;
    if (!url.startsWith(API_DIR)) {
      return { url, line: Number(match[2]), column: Number(match[3]) };
    }
  }
  return { url: "unknown", line: 0, column: 0 };
}

/** `pipeline.ts:12` for messages. */
export function formatSite(site: CallSite): string {
  const file = site.url.startsWith("file://")
    ? decodeURIComponent(new URL(site.url).pathname)
    : site.url;
  return `${file}:${site.line}`;
}
