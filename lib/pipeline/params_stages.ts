/**
 * Every entry of `params.yaml` must name a stage: a typo (`trian:`), or a
 * stage renamed in code while its entry stayed, would otherwise leave the
 * stage on its defaults without a word (docs/params.md).
 *
 * `params.yaml` is the project's, shared by all its pipelines, while a
 * command loads only the pipeline it runs in (and producers from others).
 * So an entry that names none of the loaded stages is looked up in the
 * project's other pipelines before it is called unknown; that search (a walk
 * of the tree and an import of each other pipeline) happens only when an
 * entry is not a loaded stage's, which in a one-pipeline project means only
 * when there is a mistake.
 *
 * A project with command stages (`cmd:` in `pivot.yaml`, DVC's way) reads
 * `params.yaml` as DVC does: its top-level keys are groups of values that
 * stages name by key (`train.epochs`) or interpolate (`${train.epochs}`),
 * not stage names, so the check does not apply there.
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import type { Project } from "../model/project.ts";
import type { StageDef } from "../model/stage_def.ts";
import { closestMatch } from "../suggest.ts";
import type { LoadedStages } from "./discovery.ts";
import { findPipelineFiles } from "./find_project.ts";
import { loadPipeline } from "./load.ts";
import { emptyParamsYaml, PARAMS_FILE, type ParamsYaml } from "./params.ts";

/**
 * Check that every entry of `paramsYaml` names a stage of the project: a
 * full name (`train@small`) or a base name (`train`).
 *
 * @throws {PivotError} for the first entry that names no stage, with its
 * line and the closest stage name: `params.yaml:4: 'trian' is not a stage
 * of this project (did you mean 'train'?): rename the entry or remove it`.
 */
export async function checkParamsStages(
  project: Project,
  paramsYaml: ParamsYaml,
  loaded: LoadedStages,
): Promise<void> {
  // Nothing to check (the usual case) costs nothing, however many stages there are.
  if (Object.keys(paramsYaml.stages).length === 0) return;
  if (loaded.stages.some((stage) => stage.code.kind === "command")) return;
  const known = new Set(loaded.stages.flatMap(namesOf));
  let unknown = Object.keys(paramsYaml.stages).filter((key) => !known.has(key));
  if (unknown.length === 0) return;
  const loadedFiles = new Set(loaded.pipelines.map((ref) => ref.file));
  for (const file of findPipelineFiles(project)) {
    if (loadedFiles.has(file)) continue;
    try {
      const other = await loadPipeline(project, file, emptyParamsYaml());
      for (const stage of other.stages) namesOf(stage).forEach((name) => known.add(name));
    } catch {
      // Another pipeline that does not load says nothing about this one's
      // names; its own commands report its errors.
      return;
    }
    unknown = unknown.filter((key) => !known.has(key));
    if (unknown.length === 0) return;
  }
  const key = unknown[0];
  const match = closestMatch(key, [...known].filter((name) => !name.includes("/")));
  throw new PivotError(
    `${await lineOf(project, paramsYaml, key)}: '${key}' is not a stage of this project${
      match === undefined
        ? ` (stages: ${[...known].filter((n) => !n.includes("/")).sort().join(", ")})`
        : ` (did you mean '${match}'?)`
    }: rename the entry or remove it`,
  );
}

/** The names a `params.yaml` entry may use for `stage`: full and base, as its pipeline names it. */
function namesOf(stage: StageDef): string[] {
  const names = [stage.name, stage.baseName];
  // A stage included from another pipeline under `<pipeline>/<name>` keeps its own name there.
  const prefix = `${stage.pipeline.name}/`;
  for (const name of [stage.name, stage.baseName]) {
    if (name.startsWith(prefix)) names.push(name.slice(prefix.length));
  }
  return names;
}

/** `params.yaml:<line>` of the top-level entry `key` (read again: only on this error path). */
async function lineOf(project: Project, paramsYaml: ParamsYaml, key: string): Promise<string> {
  try {
    const text = await Deno.readTextFile(`${project.root}/${PARAMS_FILE}`);
    const quoted = key.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
    const at = text.split("\n").findIndex((line) =>
      new RegExp(`^(["']?)${quoted}\\1\\s*:`).test(line)
    );
    return at < 0 ? paramsYaml.file : `${paramsYaml.file}:${at + 1}`;
  } catch {
    return paramsYaml.file;
  }
}
