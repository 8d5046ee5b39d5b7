/**
 * The stage names of each pipeline, remembered for shell completion
 * (`pivot __complete stages`), so that pressing Tab never loads a pipeline
 * while nothing changed.
 *
 * Every command that loads a pipeline records its stage names in
 * `.pivot/state/stage_names.json` with the stamps (mtime, size, inode) of
 * the pipeline file and of every module its stages' code is in; a reader
 * trusts the names while those stamps are unchanged. It is a plain JSON file,
 * not the KV store: reading it needs no unstable API and costs one small read.
 *
 * @module
 */

import { join } from "../posix_path.ts";
import type { Project } from "../model/project.ts";
import type { StageDef } from "../model/stage_def.ts";
import { fromFileUrl } from "../paths.ts";
import { writeTextAtomically } from "../storage/temp_files.ts";

const FILE = "stage_names.json";
const FORMAT = 1;

interface PipelineEntry {
  /** Absolute path → stamp of each file the names depend on. */
  readonly files: Record<string, string>;
  /** Stage names, in pipeline order. */
  readonly stages: readonly string[];
}

interface StageNamesFile {
  readonly format: number;
  /** By absolute pipeline file. */
  readonly pipelines: Record<string, PipelineEntry>;
}

function cachePath(project: Project): string {
  return join(project.stateDir, FILE);
}

function stampOf(path: string): string | undefined {
  try {
    const info = Deno.statSync(path);
    return `${info.mtime?.getTime() ?? 0}:${info.size}:${info.ino ?? 0}`;
  } catch {
    return undefined;
  }
}

function readCache(project: Project): StageNamesFile {
  try {
    const parsed = JSON.parse(Deno.readTextFileSync(cachePath(project)));
    if (parsed?.format === FORMAT && typeof parsed.pipelines === "object") return parsed;
  } catch {
    // absent or unreadable: start afresh
  }
  return { format: FORMAT, pipelines: {} };
}

/**
 * Remember the names of `stages`, loaded from `pipelineFile`. Writes only
 * when something changed (a rename into place), so a no-op run costs a
 * few `stat` calls and one small read.
 */
export function rememberStageNames(
  project: Project,
  pipelineFile: string,
  stages: readonly StageDef[],
): void {
  const files: Record<string, string> = {};
  const paths = new Set([pipelineFile]);
  // Stages share a few modules: each URL is converted once.
  const moduleUrls = new Set<string>();
  for (const stage of stages) {
    if (stage.code.kind === "command") {
      stage.code.files.forEach((file) => paths.add(file));
    } else {
      moduleUrls.add(stage.code.moduleUrl);
    }
  }
  for (const url of moduleUrls) {
    if (url.startsWith("file:")) paths.add(fromFileUrl(url));
  }
  for (const path of [...paths].sort()) {
    const stamp = stampOf(path);
    if (stamp === undefined) return; // a file is gone: nothing reliable to keep
    files[path] = stamp;
  }
  const entry: PipelineEntry = { files, stages: stages.map((stage) => stage.name) };
  const cache = readCache(project);
  if (JSON.stringify(cache.pipelines[pipelineFile]) === JSON.stringify(entry)) return;
  const next: StageNamesFile = {
    format: FORMAT,
    pipelines: { ...cache.pipelines, [pipelineFile]: entry },
  };
  try {
    Deno.mkdirSync(project.stateDir, { recursive: true });
    writeTextAtomically(cachePath(project), JSON.stringify(next));
  } catch {
    // Completion is a convenience: never fail a command over it.
  }
}

/**
 * The stage names remembered for `pipelineFile`, or undefined when there
 * are none or a file they came from changed since.
 */
export function rememberedStageNames(
  project: Project,
  pipelineFile: string,
): readonly string[] | undefined {
  const entry = readCache(project).pipelines[pipelineFile];
  if (!entry) return undefined;
  for (const [path, stamp] of Object.entries(entry.files)) {
    if (stampOf(path) !== stamp) return undefined;
  }
  return entry.stages;
}
