/**
 * Recording a completed run: the stage's lock file and its run-cache entry.
 *
 * @module
 */

import { type LockOut, writeLock } from "../storage/lock_file.ts";
import { NS } from "../storage/state.ts";
import { type EngineContext, stageKey } from "./context.ts";
import type { Decision, RunCacheEntry } from "./decide.ts";

/**
 * Write the lock file of `decision.stage` for a run that consumed
 * `decision`'s inputs and produced `outs`, and remember the outs in the run
 * cache under the inputs' hash. `background`: while other stages run (the
 * lock file is written on Deno's blocking pool, see {@link writeLock}).
 */
export async function recordRun(
  context: EngineContext,
  decision: Decision,
  outs: readonly LockOut[],
  options: { readonly background?: boolean } = {},
): Promise<void> {
  const { stage } = decision;
  const key = stageKey(context, stage);
  await writeLock(
    stage.lockFile,
    key,
    {
      code_manifest: decision.manifest,
      params: stage.params,
      deps: decision.deps,
      outs,
    },
    context.state,
    options,
  );
  const entry: RunCacheEntry = {
    outs: outs.map((o) => ({
      ...o,
      isDir: stage.outs.find((d) => d.path === o.path)?.isDir ?? false,
    })),
  };
  context.state.defer([NS.run, key, await decision.inputHash()], entry);
}
