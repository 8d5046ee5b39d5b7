/** The run-cache key of a stage's inputs, shared by `decide.ts` and `verified_decision.ts`. */

import type { StageDef } from "../model/stage_def.ts";
import { type Hash, hashJson } from "../storage/hash.ts";
import type { LockDep } from "../storage/lock_file.ts";

/** The run-cache key of a stage's inputs, computed on first use. */
export function inputHashOf(
  manifest: Readonly<Record<string, Hash>>,
  stage: StageDef,
  deps: readonly LockDep[],
): () => Promise<Hash> {
  let memo: Promise<Hash> | undefined;
  return () =>
    memo ??= hashJson({
      code_manifest: manifest,
      params: stage.params,
      deps: deps.map(({ path, hash }) => ({ path, hash })).sort((a, b) => a.path < b.path ? -1 : 1),
    });
}
