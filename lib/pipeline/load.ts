/**
 * Loading a pipeline: import the user's `pipeline.ts` (with the user's Deno
 * configuration, which the launcher arranged), collect the stages its
 * exported `Pipeline` registered, and resolve them into {@link StageDef}s.
 * A `pivot.yaml` is handed to `load_yaml.ts`, loaded only then.
 *
 * @module
 */

import { dirname } from "../posix_path.ts";
import { toFileUrl } from "../paths.ts";
import type { Dep, Out } from "../api/artifacts.ts";
import { loaderSpecOf } from "../model/loader_spec.ts";
import {
  formatSite,
  isPipeline,
  type Pipeline,
  PipelineDefinitionError,
  type RegisteredStage,
} from "../api/pipeline.ts";
import { PivotError } from "../errors.ts";
import { importErrorLine } from "./_import_error.ts";
import type { Project } from "../model/project.ts";
import type { DepDef, LoadedPipeline, OutDef, PipelineRef, StageDef } from "../model/stage_def.ts";
import { lockFileOf, resolveArtifact, resolvePermissions } from "./_resolve_declared.ts";
import { mark } from "../trace.ts";
import { type ParamsYaml, resolveParams } from "./params.ts";
import type { StateStore } from "../storage/state.ts";

export { readParamsOverrides } from "./params_overrides.ts";

/** Import `file` (a `pipeline.ts`) and return the `Pipeline` it exports. */
async function importPipeline(project: Project, file: string): Promise<Pipeline> {
  const url = toFileUrl(file);
  let module: Record<string, unknown>;
  try {
    module = await import(url);
  } catch (error) {
    if (error instanceof PipelineDefinitionError) throw new PivotError(error.message);
    throw new PivotError(importErrorLine(error, file, project.root), { cause: error });
  }
  const pipelines = Object.values(module).filter(isPipeline);
  if (pipelines.length === 0) {
    throw new PivotError(
      `${file} exports no Pipeline: add 'export const pipeline = new Pipeline("name")'`,
    );
  }
  if (pipelines.length > 1) {
    throw new PivotError(
      `${file} exports ${pipelines.length} Pipelines (${
        pipelines.map((p) => p.name).join(", ")
      }): export one per file`,
    );
  }
  return pipelines[0];
}

/** Options of {@link loadPipeline}. */
export interface LoadPipelineOptions {
  /**
   * The state store, to cache the parse of a `pivot.yaml` by its stamp (so
   * an unchanged file costs a `stat`, not a YAML parse). Without it the file
   * is parsed every time.
   */
  readonly state?: StateStore;
}

/**
 * Load the pipeline defined in `file` (`pipeline.ts`, `pivot.yaml` or
 * `pivot.yml`) and resolve its stages against `project`, with params
 * overridden by `paramsYaml`.
 *
 * Imports the pipeline's code: needs read permission for it (and whatever
 * the user's module does at import time).
 *
 * @throws {PivotError} one line naming the file (and line) for any mistake in
 * the definition: a module that fails to import, a missing export, a bad
 * path, a param that does not validate.
 */
export async function loadPipeline(
  project: Project,
  file: string,
  paramsYaml: ParamsYaml,
  options: LoadPipelineOptions = {},
): Promise<LoadedPipeline> {
  if (!file.endsWith(".ts")) {
    // The YAML loader (and through it the `yaml` package) is only loaded for YAML pipelines.
    const { loadYamlPipeline } = await import("./load_yaml.ts");
    return await loadYamlPipeline(project, file, paramsYaml, options.state);
  }
  const pipeline = await importPipeline(project, file);
  mark("load: imported");
  const ref: PipelineRef = { name: pipeline.name, file, dir: dirname(file) };
  const stages: StageDef[] = [];
  const shared: SharedParts = {
    moduleUrl: toFileUrl(file), // one URL for all of the pipeline's stages
    lockPrefix: lockFileOf(ref.dir, "x").slice(0, -"x.lock".length),
    permissions: new Map(),
    safeDirs: new Set(),
  };
  for (const stage of pipeline.stages) {
    const params = paramsWithout(stage, paramsYaml);
    const resolved = resolveStage(project, ref, stage, params ?? {}, shared);
    if (params !== undefined) {
      stages.push(resolved);
      continue;
    }
    // A stage without params or overrides never names its site in a params message.
    const hasParams = stage.params !== undefined ||
      Object.keys(stage.paramOverrides).length > 0;
    const where = hasParams ? formatSite(stage.site) : undefined;
    stages.push({ ...resolved, params: await resolveParams(stage, { paramsYaml, where }) });
  }
  return { ref, stages };
}

/** What the stages of one pipeline share, made once. */
interface SharedParts {
  readonly moduleUrl: string;
  /** A lock file's path without `<name>.lock`. */
  readonly lockPrefix: string;
  /** Resolved permissions by the object the stages declared (often one, or none). */
  readonly permissions: Map<RegisteredStage["permissions"], StageDef["permissions"]>;
  /** Out directories found not to lead outside the project (see `resolveArtifact`). */
  readonly safeDirs: Set<string>;
}

/**
 * The params of a stage that has none to resolve (no defaults, no
 * overrides, no `params.yaml` entry): `{}`, without the asynchronous path.
 * `undefined` when there is something to resolve.
 */
function paramsWithout(
  stage: RegisteredStage,
  paramsYaml: ParamsYaml,
): Record<string, unknown> | undefined {
  if (stage.params !== undefined) return undefined;
  for (const _ in stage.paramOverrides) return undefined;
  const named = (table: object | undefined) =>
    table !== undefined &&
    (Object.hasOwn(table, stage.name) || Object.hasOwn(table, stage.baseName));
  return named(paramsYaml.stages) || named(paramsYaml.notMappings) ? undefined : {};
}

// Stage names as `Pipeline` allows them: safe to put in a file name as they are.
const PLAIN_NAME = /^[A-Za-z0-9_-]+(?:@[A-Za-z0-9_-]+)?$/;

function resolveStage(
  project: Project,
  pipeline: PipelineRef,
  stage: RegisteredStage,
  params: Record<string, unknown>,
  shared: SharedParts,
): StageDef {
  // Only error messages need the site text; formatting it for every stage costs.
  const where = () => formatSite(stage.site);
  const artifact = (name: string, decl: Dep<unknown> | Out<unknown>, what: "dep" | "out") =>
    resolveArtifact(
      project,
      pipeline.dir,
      stage.name,
      {
        name,
        path: decl.path,
        what,
        loader: loaderSpecOf(decl.loader),
      },
      where,
      shared.safeDirs,
    );
  const deps: DepDef[] = [];
  for (const name of Object.keys(stage.deps)) deps.push(artifact(name, stage.deps[name], "dep"));
  const outs: OutDef[] = [];
  for (const name of Object.keys(stage.outs)) {
    const out = stage.outs[name];
    const { path, abs, isDir, loader } = artifact(name, out, "out");
    const def: OutDef = {
      name,
      path,
      abs,
      isDir,
      loader,
      kind: out.kind,
      cache: out.cache,
      selfWritten: out.selfWritten,
    };
    outs.push(out.plot ? { ...def, plot: out.plot } : def);
  }
  let permissions = shared.permissions.get(stage.permissions);
  if (permissions === undefined) {
    permissions = resolvePermissions(stage.permissions, pipeline.dir);
    shared.permissions.set(stage.permissions, permissions);
  }
  return {
    name: stage.name,
    baseName: stage.baseName,
    variant: stage.variant,
    pipeline,
    deps,
    outs,
    params,
    mutex: stage.mutex,
    permissions,
    lockFile: PLAIN_NAME.test(stage.name)
      ? `${shared.lockPrefix}${stage.name}.lock`
      : lockFileOf(pipeline.dir, stage.name),
    code: {
      kind: "registered",
      moduleUrl: shared.moduleUrl,
      site: stage.site,
      definitionSite: stage.definitionSite,
      functionName: stage.run.name,
    },
  };
}
