/**
 * What the engine works with for one loaded pipeline: the project, its
 * stages and graph, their code fingerprints, and the stores.
 *
 * @module
 */

import type { StageGraph } from "../graph/graph.ts";
import type { Project } from "../model/project.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { Cache, CheckoutMode } from "../storage/cache.ts";
import type { StateStore } from "../storage/state.ts";
import type { StageFingerprint } from "../fingerprint/fingerprint.ts";

/** The engine's view of a loaded project. */
export interface EngineContext {
  /** The project. */
  readonly project: Project;
  /** Stages in topological order, with their graph. */
  readonly graph: StageGraph;
  /** Code fingerprint of each stage, by name. */
  readonly fingerprints: ReadonlyMap<string, StageFingerprint>;
  /** Local state. */
  readonly state: StateStore;
  /** Content-addressed cache. */
  readonly cache: Cache;
  /** How outs are placed in the workspace. */
  readonly checkoutMode: CheckoutMode;
  /** Report something worth knowing (a corrupt cache object, say). */
  readonly warn: (message: string) => void;
}

/** The project-relative path of a stage's lock file: its key in the state store. */
export function stageKey(context: EngineContext, stage: StageDef): string {
  return stage.lockFile.slice(context.project.root.length + 1);
}
