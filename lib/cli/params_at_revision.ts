/**
 * The params stages had at a git revision: the "old" side of `pivot params
 * diff`. Which source counts as old is explained in docs/params.md:
 *
 * - when the revision holds lock files for the pipeline (they are meant to
 *   be committed), the `params` each lock recorded: what actually ran. A
 *   stage without a lock there had not run, so all its params are new; a
 *   stage that is gone (its lock deleted since) shows its params as removed.
 * - when it holds none (locks not committed, or nothing ran yet), the params
 *   the current stages get from `params.yaml` as it was at the revision:
 *   what was configured, assuming today's code.
 *
 * @module
 */

import { exists } from "../paths.ts";
import { basename, join, relative } from "node:path";
import { PivotError } from "../errors.ts";
import { PARAMS_FILE, type ParamsYaml } from "../pipeline/params.ts";
import { PIPELINE_FILES } from "../pipeline/find_project.ts";
import { PIVOT_DIR, type Project } from "../model/project.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { StageParams } from "./params_table.ts";
import { listFilesAtRevision, readFilesAtRevision } from "../storage/read_at_revision.ts";

/** Options of {@link paramsAtRevision}. */
export interface ParamsAtRevisionOptions {
  /** The project. */
  readonly project: Project;
  /** The stages to compare, as loaded now. */
  readonly stages: readonly StageDef[];
  /** Whether every stage is compared (then stages gone since the revision are included). */
  readonly allStages: boolean;
  /** Directory of the pipeline the command runs in (its locks list the gone stages). */
  readonly pipelineDir: string;
  /** The git revision (`HEAD`, a branch, a commit). */
  readonly rev: string;
  /** Load the current stages again with other `params.yaml` overrides. */
  readonly reload: (paramsYaml: ParamsYaml) => Promise<readonly StageDef[]>;
  /** Report a source that could not be used. */
  readonly warn: (message: string) => void;
}

/**
 * Each stage's params at `options.rev`, by stage name, in stage order (then
 * stages that are gone). A stage absent from the result had no params there.
 *
 * Needs `--allow-run=git` and read access to the project.
 *
 * @throws {PivotError} for an unknown revision, or a project outside git.
 *
 * @example
 * ```ts
 * const old = await paramsAtRevision({ project, stages, allStages: true, pipelineDir, rev: "HEAD", reload, warn });
 * ```
 */
export async function paramsAtRevision(options: ParamsAtRevisionOptions): Promise<StageParams> {
  const { project, stages, rev } = options;
  const lockDir = join(options.pipelineDir, PIVOT_DIR, "stages");
  const listed = (await listFilesAtRevision(project.root, lockDir, rev))
    .filter((name) => name.endsWith(".lock"))
    .map((name) => join(lockDir, name));
  const current = new Set(stages.map((stage) => stage.lockFile));
  // A lock left in the workspace by a stage that is no longer defined would show that stage
  // as removed forever; a stage counts as gone once its lock file is gone too.
  const gone = options.allStages
    ? listed.filter((file) => !current.has(file) && !exists(file))
    : [];
  const pipelineFiles = PIPELINE_FILES.map((name) => join(options.pipelineDir, name));
  const files = await readFilesAtRevision(
    project.root,
    [...stages.map((stage) => stage.lockFile), ...gone, PARAMS_FILE, ...pipelineFiles],
    rev,
  );
  const locksTracked = listed.length > 0 ||
    stages.some((stage) => files.get(stage.lockFile) !== undefined);
  if (!locksTracked) {
    // Today's stages with the params.yaml of a revision that had no pipeline
    // would compare the pipeline with itself: "no changes", which is wrong.
    if (pipelineFiles.every((file) => files.get(file) === undefined)) {
      const where = relative(project.root, options.pipelineDir) || "the project root";
      throw new PivotError(
        `params diff: the pipeline could not be found at ${rev} (no pipeline.ts or pivot.yaml in ${where} there, nor lock files): commit it, or compare with a revision that has it (--rev REV)`,
      );
    }
    return await configuredParams(options, files.get(PARAMS_FILE));
  }

  const { parse } = await import("yaml");
  const lockParams = (file: string, label: string): Record<string, unknown> | undefined => {
    const text = files.get(file);
    if (text === undefined) return undefined;
    try {
      const params = (parse(text) as { params?: unknown } | null)?.params;
      return typeof params === "object" && params !== null && !Array.isArray(params)
        ? params as Record<string, unknown>
        : {};
    } catch {
      options.warn(`${label} at ${rev} is not valid YAML: its params are left out`);
      return undefined;
    }
  };
  const result: Record<string, Record<string, unknown>> = {};
  for (const stage of stages) {
    const params = lockParams(stage.lockFile, `lock file of '${stage.name}'`);
    if (params !== undefined) result[stage.name] = params;
  }
  for (const file of gone) {
    const name = basename(file, ".lock");
    const params = lockParams(file, `${PIVOT_DIR}/stages/${name}.lock`);
    if (params !== undefined && !Object.hasOwn(result, name)) result[name] = params;
  }
  return result;
}

/** The params the current stages get from `params.yaml` as it was (`text`). */
async function configuredParams(
  options: ParamsAtRevisionOptions,
  text: string | undefined,
): Promise<StageParams> {
  const { emptyParamsYaml } = await import("../pipeline/params.ts");
  const { parseParamsYaml } = await import("../pipeline/params_file.ts");
  let reloaded: readonly StageDef[];
  try {
    const paramsYaml = text === undefined ? emptyParamsYaml() : parseParamsYaml(text);
    reloaded = await options.reload(paramsYaml);
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    options.warn(
      `${PARAMS_FILE} at ${options.rev} does not apply to the current stages (${error.message}): old params are left out`,
    );
    return {};
  }
  const byLock = new Map(reloaded.map((stage) => [stage.lockFile, stage]));
  const result: Record<string, Readonly<Record<string, unknown>>> = {};
  for (const stage of options.stages) {
    const old = byLock.get(stage.lockFile);
    if (old) result[stage.name] = old.params;
  }
  return result;
}
