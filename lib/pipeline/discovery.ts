/**
 * Multi-pipeline projects: the stages a command works on are those of the
 * pipeline it runs in, plus, from other pipelines of the project, the
 * producers of whatever those stages depend on (transitively).
 *
 * A dep that no included stage produces is looked up from the dep's
 * directory up to the project root: the first pipeline file on the way with
 * a stage whose outs cover the dep wins (nearest producer). Its producing
 * stage is included and its own deps are resolved the same way (first in
 * its own pipeline). A dep with no producer anywhere is an input: the graph
 * then checks that it exists. Design notes: docs/multi-pipeline.md.
 *
 * @module
 */

import { dirname } from "../posix_path.ts";
import { PivotError } from "../errors.ts";
import { loadPipeline } from "./load.ts";
import type { ParamsYaml } from "./params.ts";
import { pipelineFileIn } from "./find_project.ts";
import type { Project } from "../model/project.ts";
import { OutIndex, overlaps } from "../model/overlap.ts";
import type { DepDef, LoadedPipeline, OutDef, PipelineRef, StageDef } from "../model/stage_def.ts";
import type { StateStore } from "../storage/state.ts";

/** What {@link loadStagesWithProducers} loaded. */
export interface LoadedStages {
  /** The pipeline the command runs in. */
  readonly main: LoadedPipeline;
  /**
   * Every stage: the main pipeline's, then those included from other
   * pipelines in the order they were found. An included stage whose name is
   * taken is renamed `<pipeline>/<stage>`.
   */
  readonly stages: readonly StageDef[];
  /** Every pipeline with a stage in {@link stages}, the main one first. */
  readonly pipelines: readonly PipelineRef[];
}

/** Options of {@link loadStagesWithProducers}. */
export interface LoadStagesOptions {
  /** The project's `params.yaml` overrides (they apply to every pipeline). */
  readonly paramsYaml: ParamsYaml;
  /** Caches `pivot.yaml` parses (see `loadPipeline`). */
  readonly state?: StateStore;
  /**
   * Filled in with each directory looked in for another pipeline file and
   * what was found there: what the stages depend on besides the pipeline
   * files themselves (for the load cache, lib/cli/load_cache.ts).
   */
  readonly probed?: Map<string, string | undefined>;
}

/**
 * Load the pipeline in `file` and, from the project's other pipelines, every
 * stage that produces (transitively) something its stages depend on.
 *
 * Needs read permission for the project (pipeline files are looked for in
 * the directories of deps) and imports the pipelines it finds producers in.
 *
 * @throws {PivotError} as `loadPipeline` does for any pipeline it loads, and
 * when an included stage's name and its qualified name are both taken.
 *
 * @example
 * ```ts
 * const { stages } = await loadStagesWithProducers(project, "/p/b/pipeline.ts", { paramsYaml });
 * ```
 */
export async function loadStagesWithProducers(
  project: Project,
  file: string,
  options: LoadStagesOptions,
): Promise<LoadedStages> {
  const load = (path: string) =>
    loadPipeline(project, path, options.paramsYaml, { state: options.state });
  const main = await load(file);
  const loaded = new Map<string, LoadedPipeline>([[file, main]]);
  const stages: StageDef[] = [...main.stages];
  const pipelines: PipelineRef[] = [main.ref];
  // The outs of the included stages, to tell whether a dep is produced.
  const produced = new OutIndex<{ out: OutDef }>();
  const addOuts = (stage: StageDef) => {
    for (const out of stage.outs) produced.add({ out });
  };
  stages.forEach(addOuts);
  // Names taken and stages included (a stage is known by its lock file: unique across
  // pipelines, unlike its name), made at the first inclusion: a pipeline whose deps are all
  // its own outs or files (the usual case) never needs them.
  let known: { readonly names: Set<string>; readonly included: Set<string> } | undefined;

  const include = (stage: StageDef) => {
    known ??= {
      names: new Set(stages.map((stage) => stage.name)),
      included: new Set(stages.map((stage) => stage.lockFile)),
    };
    const { names, included } = known;
    if (included.has(stage.lockFile)) return;
    const named = names.has(stage.name) ? qualified(stage, names) : stage;
    included.add(stage.lockFile);
    names.add(named.name);
    stages.push(named);
    addOuts(named);
    if (!pipelines.some((ref) => ref.file === named.pipeline.file)) pipelines.push(named.pipeline);
  };

  // Pipeline files other than the main one from a directory up to the project root, nearest
  // first; memoised per directory, since most deps share a few directories.
  const pipelinesAbove = new Map<string, readonly string[]>();
  const otherPipelinesFrom = (dir: string): readonly string[] => {
    let found = pipelinesAbove.get(dir);
    if (found === undefined) {
      const here = pipelineFileIn(dir);
      options.probed?.set(dir, here);
      const above = dir === project.root || dir === dirname(dir)
        ? []
        : otherPipelinesFrom(dirname(dir));
      found = here !== undefined && here !== file ? [here, ...above] : above;
      pipelinesAbove.set(dir, found);
    }
    return found;
  };

  /** The producers of `dep` in the nearest pipeline above it that has any. */
  const search = async (dep: DepDef): Promise<StageDef[]> => {
    if (!dep.abs.startsWith(project.root + "/")) return [];
    for (const found of otherPipelinesFrom(dirname(dep.abs))) {
      let pipeline = loaded.get(found);
      if (!pipeline) {
        pipeline = await load(found);
        loaded.set(found, pipeline);
      }
      const producers = producersOf(pipeline, dep);
      if (producers.length > 0) return producers;
    }
    return [];
  };

  // Each stage's deps in turn, included stages (pushed onto `stages`) after the others.
  for (let next = 0; next < stages.length; next++) {
    const stage = stages[next];
    for (const dep of stage.deps) {
      // Without directory outs or outs below the dep, only an out at its path produces it.
      const isProduced = produced.mayOverlapOthers(dep.path)
        ? produced.overlapping(dep.path).length > 0
        : produced.get(dep.path) !== undefined;
      if (isProduced) continue;
      // An included stage's deps are first looked for in its own pipeline (its outs may lie
      // anywhere), then from the dep's directory up.
      const own = stage.pipeline.file === file
        ? []
        : producersOf(loaded.get(stage.pipeline.file)!, dep);
      for (const producer of own.length > 0 ? own : await search(dep)) include(producer);
    }
  }
  return { main, stages, pipelines };
}

/** `stage` renamed `<pipeline>/<name>`, its code still found by its own name. */
function qualified(stage: StageDef, taken: ReadonlySet<string>): StageDef {
  const name = `${stage.pipeline.name}/${stage.name}`;
  if (taken.has(name)) {
    throw new PivotError(
      `stage '${stage.name}' of ${stage.pipeline.file} is needed here, but both '${stage.name}' and '${name}' are already stage names: rename the stage or its pipeline`,
    );
  }
  return {
    ...stage,
    name,
    baseName: `${stage.pipeline.name}/${stage.baseName}`,
    code: stage.code.kind === "registered" ? { ...stage.code, stageName: stage.name } : stage.code,
  };
}

/** The stages of `pipeline` whose outs cover `dep` (equal, containing or inside it). */
function producersOf(pipeline: LoadedPipeline, dep: DepDef): StageDef[] {
  return pipeline.stages.filter((stage) =>
    stage.outs.some((out) => overlaps(out.path, out.isDir, dep.path))
  );
}
