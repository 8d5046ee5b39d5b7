/**
 * Fingerprinting a temporary project's stages: they are loaded by a child
 * `deno` with the project's config, exactly as users' pipelines are, then
 * fingerprinted in this process with the project's state store.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallSite } from "../../lib/api/pipeline.ts";
import type { LoaderSpec } from "../../lib/model/loader_spec.ts";
import {
  type FingerprintOptions,
  fingerprintStages,
  type FingerprintStats,
  type StageFingerprint,
} from "../../lib/fingerprint/fingerprint.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { REPO, TempProject } from "../_project.ts";
import { output } from "../_harness.ts";

const DUMP = fileURLToPath(new URL("./_dump_stages.ts", import.meta.url));

/**
 * A project with `files` and extra import-map entries (`null`: no deno.json
 * at all), without `pivot init`: fingerprinting needs only its state store.
 */
export function fingerprintProject(
  files: Record<string, string>,
  imports: Record<string, string> | null = {},
): Promise<TempProject> {
  return TempProject.create(files, { imports, init: false });
}

/** Load the stages of a pipeline file in a child `deno`, as `StageDef`s. */
export async function loadStages(
  project: TempProject,
  pipeline = "pipeline.ts",
): Promise<StageDef[]> {
  const config = project.config;
  const result = await output(Deno.execPath(), {
    args: ["run", "-A", ...(config ? ["--config", config] : []), "--unstable-kv", DUMP, pipeline],
    cwd: project.root,
    env: { NO_COLOR: "1" },
  });
  if (!result.success) throw new Error(new TextDecoder().decode(result.stderr));
  const dumped = JSON.parse(new TextDecoder().decode(result.stdout)) as DumpedStage[];
  const file = project.path(pipeline);
  return dumped.map((stage) => stageDef(project, stage, file));
}

/** A `StageDef` for a stage as the loader reports it (`file`: absolute pipeline path). */
export function stageDef(project: TempProject, stage: DumpedStage, file: string): StageDef {
  const artifact = (a: DumpedArtifact) => ({
    name: a.name,
    path: a.path,
    abs: project.path(a.path),
    isDir: a.path.endsWith("/"),
    loader: a.loader ?? undefined,
  });
  return {
    name: stage.name,
    baseName: stage.baseName,
    variant: stage.variant ?? undefined,
    pipeline: { name: "test", file, dir: dirname(file) },
    deps: stage.deps.map(artifact),
    outs: stage.outs.map((a) => ({
      ...artifact(a),
      kind: "out" as const,
      cache: true,
      selfWritten: a.loader?.kind === "pathOnly",
    })),
    params: {},
    mutex: [],
    permissions: { read: [], net: false, env: false, run: false, ffi: false, sys: false },
    lockFile: join(project.root, ".pivot", "stages", `${stage.name}.lock`),
    code: {
      kind: "registered",
      moduleUrl: `file://${file}`,
      site: stage.site,
      definitionSite: stage.definitionSite ?? undefined,
      functionName: stage.functionName,
    },
  };
}

/** The options a test fingerprints `project` with: its root, config and state store. */
export async function fingerprintOptions(
  project: TempProject,
  stats?: FingerprintStats,
): Promise<FingerprintOptions> {
  return {
    projectRoot: project.root,
    denoConfig: project.config,
    pivotRoot: REPO,
    state: await project.state(),
    stats,
  };
}

/** Fingerprint `stages` (default: load them now) with the project's state store. */
export async function fingerprint(
  project: TempProject,
  stages?: StageDef[],
  stats?: FingerprintStats,
): Promise<Map<string, StageFingerprint>> {
  const options = await fingerprintOptions(project, stats);
  const result = await fingerprintStages(stages ?? await loadStages(project), options);
  await options.state.flush();
  return result;
}

/** A dep or out as the child loader reports it. */
export interface DumpedArtifact {
  name: string;
  path: string;
  loader: LoaderSpec | null;
}

/** A stage as the child loader reports it. */
export interface DumpedStage {
  name: string;
  baseName: string;
  variant: string | null;
  site: CallSite;
  definitionSite: CallSite | null;
  functionName: string;
  deps: DumpedArtifact[];
  outs: DumpedArtifact[];
}

/** Keys added, removed or changed between two fingerprints, sorted. */
export function changedKeys(before: StageFingerprint, after: StageFingerprint): string[] {
  const keys = new Set([...Object.keys(before.manifest), ...Object.keys(after.manifest)]);
  return [...keys].filter((key) => before.manifest[key] !== after.manifest[key]).sort();
}

/**
 * Create a project from `files`, fingerprint it, apply `edit`, fingerprint
 * again (stages reloaded, as the real loader would), and return the keys
 * that changed for each stage.
 */
export async function changesAfter(
  files: Record<string, string>,
  edit: (project: TempProject) => Promise<void>,
  imports: Record<string, string> = {},
): Promise<Record<string, string[]>> {
  await using project = await fingerprintProject(files, imports);
  const before = await fingerprint(project);
  await edit(project);
  const after = await fingerprint(project);
  const changes: Record<string, string[]> = {};
  for (const [name, fp] of before) {
    const other = after.get(name);
    if (!other) throw new Error(`stage ${name} vanished`);
    changes[name] = changedKeys(fp, other);
  }
  return changes;
}
