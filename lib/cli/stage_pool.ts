/**
 * The worker pool of a command's stages, and what its workers may load.
 * Shared by the commands that run stages (`wave.ts`) and by the session,
 * which starts the first worker while a cold fingerprint is computed, or
 * before the pipeline is imported when a warm run will likely run a stage
 * ({@link likelyToRun}).
 *
 * @module
 */

import { isDirectory, statOrUndefined } from "../paths.ts";
import { join } from "../posix_path.ts";
import type { Project } from "../model/project.ts";
import { moduleUrlOf, type StageDef } from "../model/stage_def.ts";
import { type EngineContext, stageKey } from "../engine/context.ts";
import { readLock } from "../storage/lock_file.ts";
import { stampOf } from "../storage/state.ts";
import { ownCodePaths } from "../own_code.ts";
import { stagingRootPath } from "../storage/temp_files.ts";
import { type CodeAccess, WorkerPool } from "../worker/pool.ts";
import { stagingParent } from "../worker/staging.ts";

/** The stages' code: local module files and remote hosts (`Session.code`). */
export interface StagesCode {
  readonly files: readonly string[];
  readonly hosts: readonly string[];
}

let pools = 0;

/** What a worker running the stages' code may read and import from. */
export function workerCodeAccess(project: Project, code: StagesCode): CodeAccess {
  const nodeModules = join(project.root, "node_modules");
  return {
    read: [
      ...code.files,
      // Pivot's own modules, which the pipeline imports.
      ...ownCodePaths(),
      ...(isDirectory(nodeModules) ? [nodeModules] : []),
    ],
    importHosts: [...code.hosts],
  };
}

/** A worker pool for `project`'s stages, whose code is `code()` (asked at the first worker). */
export function stagePool(project: Project, code: () => Promise<StagesCode>): WorkerPool {
  return new WorkerPool({
    stagingRoot: stagingParent(project.root, stagingRootPath(project.tmpDir, ++pools)),
    codeAccess: async () => workerCodeAccess(project, await code()),
    graceMs: 3_000,
  });
}

/** How many stages {@link likelyToRun} looks at, at most. */
const EARLY_WORKER_PROBES = 8;

/**
 * A stage that a warm `repro` will most likely run, when the verified index
 * did not show every stage of `context` up to date (`verified`): one whose
 * upstream stages are all verified, run in a worker (not a command), and
 * with no lock file or a dep file whose hash, remembered for its stamp now,
 * is unknown or not the one its lock file records (an edited input).
 * Undefined when none of the first few such stages is: a run just after
 * another, whose stages the index has not yet seen up to date, usually runs
 * nothing. A guess, never a decision: it only starts a worker.
 */
export async function likelyToRun(
  context: EngineContext,
  verified: ReadonlyMap<string, unknown>,
): Promise<StageDef | undefined> {
  const { graph, state } = context;
  let probed = 0;
  for (const stage of graph.order) {
    if (verified.has(stage.name) || moduleUrlOf(stage) === undefined) continue;
    const upstream = graph.upstream.get(stage.name) ?? [];
    if ([...upstream].some((name) => !verified.has(name))) continue;
    if (++probed > EARLY_WORKER_PROBES) return undefined;
    const lock = await readLock(stage.lockFile, stageKey(context, stage), state);
    if (lock === undefined) return stage;
    for (const dep of stage.deps) {
      const info = dep.isDir ? undefined : statOrUndefined(dep.abs);
      if (!info?.isFile) continue;
      const hash = await state.cachedFileHash(dep.path, stampOf(info));
      if (hash === undefined || lock.deps.find((d) => d.path === dep.path)?.hash !== hash) {
        return stage;
      }
    }
  }
  return undefined;
}
