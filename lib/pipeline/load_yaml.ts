/**
 * Loading a `pivot.yaml` pipeline: parse it (or take the parse cached in the
 * state store by the file's stamp), import the modules its `run:` entries
 * name, and resolve each stage into a {@link StageDef} whose code is the
 * named export (`CodeRef` kind `export`).
 *
 * An export is either
 *
 * - a plain function: the YAML gives its deps, outs, metrics and plots, each
 *   saved or loaded with the loader its file extension implies
 *   (`loaderForPath`), and its params (as defaults); or
 * - a `defineStage(...)` definition: it gives deps, outs, loaders, params
 *   and permissions, and the YAML replaces paths and param values by name,
 *   as `pipeline.register(definition, overrides)` does.
 *
 * A command stage (`cmd:`, SPEC §12) is resolved by `_command_stage.ts`.
 *
 * The parser (and the `yaml` package) is imported only when the file (or a
 * params or `vars` file its command stages interpolate from) changed.
 *
 * @module
 */

import { basename, extname, relative } from "node:path";
import type { Out, OutKind } from "../api/artifacts.ts";
import { type LoaderSpec, loaderSpecOf } from "../model/loader_spec.ts";
import { csv, json, jsonl, pathOnly, text, yaml } from "../api/loaders.ts";
import { isPipeline, PipelineDefinitionError, type StageDefinition } from "../api/pipeline.ts";
import { messageOf, PivotError } from "../errors.ts";
import { describeImportError, importErrorLine } from "./_import_error.ts";
import { type FileStamp, NS, sameStamp, stampOf, type StateStore } from "../storage/state.ts";
import { didYouMean } from "../suggest.ts";
import { lockFileOf, resolveArtifact, resolvePermissions } from "./_resolve_declared.ts";
import { type ParamsYaml, resolveParams } from "./params.ts";
import type { PivotYamlCommandStage, PivotYamlFile, PivotYamlStage } from "./pivot_yaml.ts";
import { inferKindsFromProducers, resolveCommandStage } from "./_command_stage.ts";
import { statOrUndefined } from "../paths.ts";
import { unboxFloats } from "./substitute.ts";
import { type Project, projectRelative } from "../model/project.ts";
import type { DepDef, LoadedPipeline, OutDef, PipelineRef, StageDef } from "../model/stage_def.ts";

/**
 * Load the YAML pipeline `file` and resolve its stages against `project`.
 *
 * Needs read permission for the file and the modules it names (which are
 * imported).
 *
 * @param state caches the parse by the file's stamp; without it the file is
 * parsed every time.
 * @throws {PivotError} one line starting with `pivot.yaml:LINE:` (the path is
 * project-relative for a pipeline in a sub-directory) for a malformed file, a
 * module that cannot be imported, a missing export, an override naming an
 * unknown dep or out, or a param that does not validate.
 *
 * @example
 * ```ts
 * const { stages } = await loadYamlPipeline(project, "/p/pivot.yaml", paramsYaml, state);
 * ```
 */
export async function loadYamlPipeline(
  project: Project,
  file: string,
  paramsYaml: ParamsYaml,
  state?: StateStore,
): Promise<LoadedPipeline> {
  const label = projectRelative(project, file);
  const { parsed, hashes } = await readPivotYaml(file, label, state);
  const ref: PipelineRef = {
    name: parsed.name ?? defaultPipelineName(parsed.dir),
    file,
    dir: parsed.dir,
  };
  const modules = await importModules(project, parsed);
  const stages: StageDef[] = [];
  let readData: ((abs: string) => unknown) | undefined;
  for (const entry of parsed.stages) {
    if (entry.kind === "command") {
      readData ??= (await import("./pivot_yaml.ts")).readDataFile;
      stages.push(
        await resolveCommandStage(project, ref, entry, {
          state,
          hash: hashes[entry.name],
          readData: (abs) => unboxFloats(readData!(abs)),
        }),
      );
      continue;
    }
    const value = exportOf(entry, modules.get(entry.run.moduleUrl)!, parsed.dir);
    stages.push(
      typeof value === "function"
        ? await resolveFunctionStage(project, ref, entry, paramsYaml)
        : await resolveDefinitionStage(project, ref, entry, value, paramsYaml),
    );
  }
  return { ref, stages: inferKindsFromProducers(stages) };
}

/**
 * The built-in loader a `pivot.yaml` path gets when its stage is a plain
 * function: `.json` json, `.yaml`/`.yml` yaml, `.csv` csv, `.jsonl` jsonl,
 * `.txt` text; a directory (trailing `/`) or any other extension is
 * path-only (a dep gives the function its path, an out is written by the
 * function at `ctx.outs.<name>`).
 *
 * @example
 * ```ts
 * loaderForPath("data/train.csv"); // { kind: "csv", options: { separator: ",", columns: {} } }
 * loaderForPath("model.bin"); // { kind: "pathOnly", options: {} }
 * ```
 */
function loaderForPath(path: string): LoaderSpec {
  const extension = path.endsWith("/") ? "/" : extname(path).toLowerCase();
  let spec = SPECS.get(extension);
  if (spec === undefined) {
    const make = LOADERS_BY_EXTENSION[extension] ?? pathOnly;
    spec = loaderSpecOf(make())!;
    SPECS.set(extension, spec);
  }
  return spec;
}

const LOADERS_BY_EXTENSION: Readonly<Record<string, () => unknown>> = {
  ".json": () => json(),
  ".yaml": () => yaml(),
  ".yml": () => yaml(),
  ".csv": () => csv(),
  ".jsonl": () => jsonl(),
  ".txt": () => text(),
};
const SPECS = new Map<string, LoaderSpec>();

// --- parsing, cached ---

interface CachedPivotYaml extends FileStamp {
  /** The absolute path it was parsed at: paths in the parse are absolute. */
  readonly file: string;
  readonly parsed: PivotYamlFile;
  /** The stamps of the parse's other inputs (null: did not exist), by absolute path. */
  readonly inputs: Readonly<Record<string, FileStamp | null>>;
  /** Each command stage's `cmd` hash, by stage name. */
  readonly hashes: Readonly<Record<string, string>>;
}

/** A parse and the hashes of its command stages' commands. */
interface ReadPivotYaml {
  readonly parsed: PivotYamlFile;
  readonly hashes: Readonly<Record<string, string>>;
}

/** Deno KV refuses values over 64 KiB; a parse that large is simply not cached. */
const MAX_CACHED_CHARS = 48_000;

async function readPivotYaml(
  file: string,
  label: string,
  state: StateStore | undefined,
): Promise<ReadPivotYaml> {
  let stamp: FileStamp | undefined;
  try {
    stamp = stampOf(Deno.statSync(file));
  } catch (error) {
    throw new PivotError(`${label}: cannot read: ${messageOf(error)}`, { cause: error });
  }
  const key = [NS.parsed, label];
  const cached = state && await state.get<CachedPivotYaml>(key);
  if (
    cached && sameStamp(cached, stamp) && cached.file === file && inputsUnchanged(cached.inputs)
  ) {
    return { parsed: cached.parsed, hashes: cached.hashes };
  }
  let text: string;
  try {
    text = await Deno.readTextFile(file);
  } catch (error) {
    throw new PivotError(`${label}: cannot read: ${messageOf(error)}`, { cause: error });
  }
  const { parsePivotYaml } = await import("./pivot_yaml.ts");
  const parsed = parsePivotYaml(text, file, { label });
  const hashes = await commandHashes(parsed.stages);
  const inputs: Record<string, FileStamp | null> = {};
  for (const input of parsed.inputs) {
    const info = statOrUndefined(input);
    inputs[input] = info ? stampOf(info) : null;
  }
  if (state && JSON.stringify(parsed).length <= MAX_CACHED_CHARS) {
    state.defer(key, { ...stamp, file, parsed, inputs, hashes } satisfies CachedPivotYaml);
  }
  return { parsed, hashes };
}

function inputsUnchanged(inputs: Readonly<Record<string, FileStamp | null>>): boolean {
  for (const [path, stamp] of Object.entries(inputs)) {
    const info = statOrUndefined(path);
    if (info === undefined || stamp === null) {
      if ((info === undefined) !== (stamp === null)) return false;
    } else if (!sameStamp(stampOf(info), stamp)) return false;
  }
  return true;
}

/**
 * The hash of each command stage's command line and working directory (the
 * `cmd` entry of its code manifest), by stage name.
 */
async function commandHashes(
  stages: PivotYamlFile["stages"],
): Promise<Record<string, string>> {
  const commands = stages.filter((s): s is PivotYamlCommandStage => s.kind === "command");
  if (commands.length === 0) return {};
  const { hashJson } = await import("../storage/hash.ts");
  const hashes: Record<string, string> = {};
  for (const stage of commands) {
    hashes[stage.name] = await hashJson({ cmd: stage.cmd, wdir: stage.wdir });
  }
  return hashes;
}

function defaultPipelineName(dir: string): string {
  return basename(dir).replace(/[^A-Za-z0-9_-]/g, "_") || "pipeline";
}

// --- modules and exports ---

type Module = Record<string, unknown>;

/** Import every module the file names, once each; a failure names the first stage using it. */
async function importModules(
  project: Project,
  parsed: PivotYamlFile,
): Promise<Map<string, Module>> {
  const firstUse = new Map<string, PivotYamlStage>();
  for (const entry of parsed.stages) {
    if (entry.kind === "command") continue;
    if (!firstUse.has(entry.run.moduleUrl)) firstUse.set(entry.run.moduleUrl, entry);
  }
  const modules = new Map<string, Module>();
  await Promise.all([...firstUse].map(async ([url, entry]) => {
    try {
      modules.set(url, await import(url));
    } catch (error) {
      if (error instanceof PipelineDefinitionError) throw new PivotError(error.message);
      const module = relative(parsed.dir, entry.run.module);
      const failure = describeImportError(error, project.root);
      const reason = failure.missing === entry.run.module
        ? "the file does not exist"
        : importErrorLine(error, entry.run.module, project.root);
      throw new PivotError(
        `${entry.where}: stage '${entry.baseName}': cannot import ${module}: ${reason}`,
        { cause: error },
      );
    }
  }));
  return modules;
}

type AnyDefinition = StageDefinition & { readonly spec: StageDefinition["spec"] };

/** The export `run:` names: a function or a stage definition, else a one-line error. */
function exportOf(
  entry: PivotYamlStage,
  module: Module,
  dir: string,
): ((...args: never[]) => unknown) | AnyDefinition {
  const { exportName } = entry.run;
  const moduleName = relative(dir, entry.run.module);
  const at = `${entry.where}: stage '${entry.baseName}'`;
  if (!Object.hasOwn(module, exportName)) {
    const names = Object.keys(module).filter((name) => usable(module[name]));
    throw new PivotError(
      `${at}: ${moduleName} has no export '${exportName}'${didYouMean(exportName, names)} (${
        names.length > 0 ? `exports: ${names.join(", ")}` : "it exports no function"
      }): export it, or fix 'run: ${moduleName}#${exportName}'`,
    );
  }
  const value = module[exportName];
  if (typeof value === "function") return value as (...args: never[]) => unknown;
  if (isDefinition(value)) return value;
  const found = isPipeline(value)
    ? "a Pipeline"
    : typeof value === "object" && value !== null
    ? "an object"
    : `a ${typeof value}`;
  throw new PivotError(
    `${at}: export '${exportName}' of ${moduleName} is ${found}: name a function or a defineStage(...) definition`,
  );
}

function usable(value: unknown): boolean {
  return typeof value === "function" || isDefinition(value);
}

function isDefinition(value: unknown): value is AnyDefinition {
  if (typeof value !== "object" || value === null || !("spec" in value) || !("site" in value)) {
    return false;
  }
  const spec = (value as { spec: unknown }).spec;
  return typeof spec === "object" && spec !== null &&
    typeof (spec as { run?: unknown }).run === "function";
}

// --- stages ---

const SECTION_OF_KIND: Readonly<Record<OutKind, "outs" | "metrics" | "plots">> = {
  out: "outs",
  incremental: "outs",
  metric: "metrics",
  plot: "plots",
};

const OUT_SECTIONS = [
  ["outs", "out"],
  ["metrics", "metric"],
  ["plots", "plot"],
] as const;

/** A plain function: paths, loaders (by extension) and params all come from the YAML. */
async function resolveFunctionStage(
  project: Project,
  pipeline: PipelineRef,
  entry: PivotYamlStage,
  paramsYaml: ParamsYaml,
): Promise<StageDef> {
  const where = () => entry.where;
  const deps: DepDef[] = Object.entries(entry.deps).map(([name, path]) =>
    resolveArtifact(
      project,
      pipeline.dir,
      entry.name,
      { name, path, what: "dep", loader: loaderForPath(path) },
      where,
    )
  );
  const outs: OutDef[] = [];
  for (const [section, kind] of OUT_SECTIONS) {
    for (const [name, path] of Object.entries(entry[section])) {
      const loader = loaderForPath(path);
      outs.push({
        ...resolveArtifact(project, pipeline.dir, entry.name, {
          name,
          path,
          what: "out",
          loader,
        }, where),
        kind,
        // As `metric()` does: metrics are meant for git, not the cache.
        cache: kind !== "metric",
        selfWritten: loader.kind === "pathOnly",
      });
    }
  }
  // A bare function declares no params: the YAML's are its defaults (and fix their types).
  const params = await resolveParams(
    { name: entry.name, baseName: entry.baseName, params: entry.params },
    { paramsYaml, where: entry.where },
  );
  return stageDef(pipeline, entry, deps, outs, params, entry.mutex, resolvePermissions({}, "/"));
}

/** A `defineStage` definition: the YAML replaces its paths and param values by name. */
async function resolveDefinitionStage(
  project: Project,
  pipeline: PipelineRef,
  entry: PivotYamlStage,
  definition: AnyDefinition,
  paramsYaml: ParamsYaml,
): Promise<StageDef> {
  const spec = definition.spec;
  const where = () => entry.where;
  const at = `${entry.where}: stage '${entry.name}'`;
  const declaredDeps = spec.deps ?? {};
  const declaredOuts: Record<string, Out<unknown>> = spec.outs ?? {};
  checkOverrideNames(at, "dep", Object.keys(entry.deps), Object.keys(declaredDeps), entry);
  const overridden = new Map<string, { section: string; path: string }>();
  for (const [section] of OUT_SECTIONS) {
    for (const [name, path] of Object.entries(entry[section])) {
      overridden.set(name, { section, path });
    }
  }
  checkOverrideNames(at, "out", [...overridden.keys()], Object.keys(declaredOuts), entry);

  const deps: DepDef[] = Object.entries(declaredDeps).map(([name, dep]) =>
    resolveArtifact(project, pipeline.dir, entry.name, {
      name,
      path: entry.deps[name] ?? dep.path,
      what: "dep",
      loader: loaderSpecOf(dep.loader),
    }, where)
  );
  const outs: OutDef[] = Object.entries(declaredOuts).map(([name, out]) => {
    const override = overridden.get(name);
    const section = SECTION_OF_KIND[out.kind];
    if (override && override.section !== section) {
      throw new PivotError(
        `${at}: '${name}' is ${
          out.kind === "out" || out.kind === "incremental" ? "an out" : `a ${out.kind}`
        } in the definition, not in '${override.section}': list it under '${section}'`,
      );
    }
    return {
      ...resolveArtifact(project, pipeline.dir, entry.name, {
        name,
        path: override?.path ?? out.path,
        what: "out",
        loader: loaderSpecOf(out.loader),
      }, where),
      kind: out.kind,
      cache: out.cache,
      selfWritten: out.selfWritten,
      ...(out.plot ? { plot: out.plot } : {}),
    };
  });
  const params = await resolveParams(
    {
      name: entry.name,
      baseName: entry.baseName,
      params: spec.params,
      paramOverrides: entry.params,
    },
    { paramsYaml, where: entry.where },
  );
  const mutex = entry.mutex.length > 0 ? entry.mutex : [...(spec.mutex ?? [])];
  const permissions = resolvePermissions(spec.permissions ?? {}, pipeline.dir);
  return stageDef(pipeline, entry, deps, outs, params, mutex, permissions);
}

function checkOverrideNames(
  at: string,
  what: "dep" | "out",
  given: readonly string[],
  declared: readonly string[],
  entry: PivotYamlStage,
): void {
  for (const name of given) {
    if (declared.includes(name)) continue;
    throw new PivotError(
      `${at}: ${what} '${name}' is not declared by definition '${entry.run.exportName}'${
        didYouMean(name, declared)
      } (${what}s: ${declared.join(", ") || "none"}): add it to the definition or remove it here`,
    );
  }
}

function stageDef(
  pipeline: PipelineRef,
  entry: PivotYamlStage,
  deps: DepDef[],
  outs: OutDef[],
  params: Record<string, unknown>,
  mutex: readonly string[],
  permissions: StageDef["permissions"],
): StageDef {
  return {
    name: entry.name,
    baseName: entry.baseName,
    variant: entry.variant,
    pipeline,
    deps,
    outs,
    params,
    mutex,
    permissions,
    lockFile: lockFileOf(pipeline.dir, entry.name),
    code: { kind: "export", moduleUrl: entry.run.moduleUrl, exportName: entry.run.exportName },
  };
}
