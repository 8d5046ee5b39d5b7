/**
 * Opening a project for a command: find it, load its pipeline, build the
 * graph, open the stores and fingerprint the code — everything the engine
 * needs, in one {@link EngineContext}.
 *
 * @module
 */

import { dirname } from "node:path";
import { fromFileUrl } from "../paths.ts";
import { buildGraph } from "../graph/graph.ts";
import { readParamsOverrides } from "../pipeline/load.ts";
import { loadStagesWithProducers } from "../pipeline/discovery.ts";
import {
  findDenoConfig,
  findPipelineFile,
  findProject,
  type Project,
} from "../pipeline/project.ts";
import { readProjectConfig } from "../pipeline/project_config.ts";
import { Cache } from "../storage/cache.ts";
import { NS, StateStore } from "../storage/state.ts";
import type { EngineContext } from "../engine/context.ts";
import { fingerprintStages } from "../engine/_interim_fingerprint.ts";
import { stagesCode } from "./_interim_modules.ts";
import { mark } from "../trace.ts";

function exists(path: string): boolean {
  try {
    Deno.statSync(path);
    return true;
  } catch {
    return false;
  }
}

/** Pivot's own source root (the directory holding mod.ts). */
export const PIVOT_ROOT = dirname(dirname(dirname(fromFileUrl(import.meta.url))));

/** An open project: close it when done. */
export interface Session {
  /** What the engine works with. */
  readonly context: EngineContext;
  /** Default parallelism from the config. */
  readonly jobs: number | undefined;
  /**
   * The local module files and remote module hosts of every loaded stage's
   * code, across pipelines (computed once, on demand).
   */
  code(): Promise<{ files: readonly string[]; hosts: readonly string[] }>;
  /** Flush state and close the store. */
  close(): Promise<void>;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  /** The directory the command runs in. */
  readonly cwd: string;
  /** Receives warnings (corrupt cache objects, …). */
  readonly warn: (message: string) => void;
}

/** Find the project for `cwd` without loading anything. */
export function locateProject(cwd: string): Project {
  return findProject(cwd);
}

/** Open the project holding `options.cwd` and load its pipeline. */
export async function openSession(options: SessionOptions): Promise<Session> {
  mark("session: start");
  const project = findProject(options.cwd);
  const pipelineFile = findPipelineFile(project, options.cwd);
  const config = await readProjectConfig(project);
  const state = await StateStore.open(project.stateDir);
  try {
    await state.preload([NS.lock]);
    mark("session: state open");
    const loaded = await loadStagesWithProducers(project, pipelineFile, {
      paramsYaml: await readParamsOverrides(project, state),
      state,
    });
    mark("session: pipeline loaded");
    const graph = buildGraph(loaded.stages, { exists });
    mark("session: graph built");
    const denoConfig = findDenoConfig(dirname(pipelineFile));
    let code: ReturnType<Session["code"]> | undefined;
    const fingerprints = await fingerprintStages(graph.order, {
      projectRoot: project.root,
      denoConfig,
      pivotRoot: PIVOT_ROOT,
      state,
    });
    mark("session: fingerprinted");
    return {
      context: {
        project,
        graph,
        fingerprints,
        state,
        cache: new Cache(config.cacheDir),
        checkoutMode: config.checkoutMode,
        warn: options.warn,
      },
      jobs: config.jobs,
      code: () => code ??= stagesCode(loaded.stages, denoConfig),
      close: () => state.close(),
    };
  } catch (error) {
    state.kv.close();
    throw error;
  }
}
