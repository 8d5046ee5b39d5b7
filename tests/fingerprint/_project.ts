/**
 * Test helpers: a real project on disk (deno.json mapping `jsr:@pivot/core`
 * to this worktree, modules written by the test), its stages loaded by a
 * child `deno` exactly as users' pipelines are, and fingerprinting them.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { fileURLToPath } from "node:url";
import type { CallSite } from "../../lib/api/pipeline.ts";
import type { LoaderSpec } from "../../lib/model/loader_spec.ts";
import {
  fingerprintStages,
  type FingerprintStats,
  type StageFingerprint,
} from "../../lib/fingerprint/fingerprint.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { StateStore } from "../../lib/storage/state.ts";

/** The worktree root (the directory holding mod.ts). */
export const PIVOT_ROOT = fileURLToPath(new URL("../../", import.meta.url)).replace(/\/$/, "");
const DUMP = fileURLToPath(new URL("./_dump_stages.ts", import.meta.url));

/** A temporary project. */
export class Project {
  /** Absolute, real path of the project root. */
  readonly root: string;
  /** Whether the project has a deno.json. */
  readonly hasConfig: boolean;
  #state: StateStore | undefined;

  private constructor(root: string, hasConfig: boolean) {
    this.root = root;
    this.hasConfig = hasConfig;
  }

  /**
   * Create a project with `files` (project-relative path → text) and extra
   * import-map entries; `imports: null` writes no deno.json at all.
   */
  static async create(
    files: Record<string, string>,
    imports: Record<string, string> | null = {},
  ): Promise<Project> {
    const root = await Deno.realPath(await Deno.makeTempDir({ prefix: "pivot_fp_" }));
    const project = new Project(root, imports !== null);
    if (imports !== null) await project.writeConfig(imports);
    for (const [path, text] of Object.entries(files)) await project.write(path, text);
    return project;
  }

  /** Absolute path of the project's deno.json. */
  get config(): string {
    return join(this.root, "deno.json");
  }

  /** Write deno.json with `jsr:@pivot/core` mapped to this worktree, plus `imports`. */
  async writeConfig(imports: Record<string, string> = {}): Promise<void> {
    const map = { "jsr:@pivot/core": `file://${PIVOT_ROOT}/mod.ts`, ...imports };
    await Deno.writeTextFile(this.config, JSON.stringify({ imports: map }, null, 2) + "\n");
  }

  /** Write a project file. */
  async write(path: string, text: string): Promise<void> {
    const abs = join(this.root, path);
    await Deno.mkdir(dirname(abs), { recursive: true });
    await Deno.writeTextFile(abs, text);
  }

  /** Replace `from` with `to` in a project file (which must contain it). */
  async edit(path: string, from: string | RegExp, to: string): Promise<void> {
    const text = await Deno.readTextFile(join(this.root, path));
    const edited = text.replace(from, to);
    if (edited === text) throw new Error(`${path}: ${from} not found`);
    await Deno.writeTextFile(join(this.root, path), edited);
  }

  /** The project's state store (opened once). */
  async state(): Promise<StateStore> {
    return this.#state ??= await StateStore.open(join(this.root, ".pivot", "state"));
  }

  /** Close the state store (the next {@link state} call opens it again). */
  async closeState(): Promise<void> {
    await this.#state?.close();
    this.#state = undefined;
  }

  /** Load the stages of a pipeline file in a child `deno`, as `StageDef`s. */
  async stages(pipeline = "pipeline.ts"): Promise<StageDef[]> {
    const output = await new Deno.Command(Deno.execPath(), {
      args: [
        "run",
        "-A",
        ...(this.hasConfig ? ["--config", this.config] : []),
        "--unstable-kv",
        DUMP,
        pipeline,
      ],
      cwd: this.root,
      stdout: "piped",
      stderr: "piped",
      env: { NO_COLOR: "1" },
    }).output();
    if (!output.success) throw new Error(new TextDecoder().decode(output.stderr));
    const dumped = JSON.parse(new TextDecoder().decode(output.stdout)) as DumpedStage[];
    const file = join(this.root, pipeline);
    return dumped.map((stage) => this.stageDef(stage, file));
  }

  /** A `StageDef` for a stage as the loader reports it (`file`: absolute pipeline path). */
  stageDef(stage: DumpedStage, file: string): StageDef {
    const artifact = (a: DumpedArtifact) => ({
      name: a.name,
      path: a.path,
      abs: join(this.root, a.path),
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
      lockFile: join(this.root, ".pivot", "stages", `${stage.name}.lock`),
      code: {
        kind: "registered",
        moduleUrl: `file://${file}`,
        site: stage.site,
        definitionSite: stage.definitionSite ?? undefined,
        functionName: stage.functionName,
      },
    };
  }

  /** Fingerprint `stages` (default: load them now) with this project's store. */
  async fingerprint(
    stages?: StageDef[],
    stats?: FingerprintStats,
  ): Promise<Map<string, StageFingerprint>> {
    const state = await this.state();
    const result = await fingerprintStages(stages ?? await this.stages(), {
      projectRoot: this.root,
      denoConfig: this.hasConfig ? this.config : undefined,
      pivotRoot: PIVOT_ROOT,
      state,
      stats,
    });
    await state.flush();
    return result;
  }

  /** Close the store and delete the project. */
  async [Symbol.asyncDispose](): Promise<void> {
    this.#state?.kv.close();
    await Deno.remove(this.root, { recursive: true });
  }
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
  edit: (project: Project) => Promise<void>,
  imports: Record<string, string> = {},
): Promise<Record<string, string[]>> {
  await using project = await Project.create(files, imports);
  const before = await project.fingerprint();
  await edit(project);
  const after = await project.fingerprint();
  const changes: Record<string, string[]> = {};
  for (const [name, fingerprint] of before) {
    const other = after.get(name);
    if (!other) throw new Error(`stage ${name} vanished`);
    changes[name] = changedKeys(fingerprint, other);
  }
  return changes;
}
