/**
 * The decision for a stage the verified index shows up to date, apart from
 * `decide.ts` so that `predict` (`status`, `repro --dry-run`) of verified
 * stages loads none of what a full decision needs (docs/performance.md,
 * "Lazy engine modules").
 */

import type { StageDef } from "../model/stage_def.ts";
import type { Hash } from "../storage/hash.ts";
import type { LockData, LockDep } from "../storage/lock_file.ts";
import type { EngineContext } from "./context.ts";
import type { Decision } from "./decide.ts";
import type { Verified } from "./verified.ts";
import { inputHashOf } from "./input_hash.ts";

/**
 * The decision for a stage that the verified index shows up to date
 * ({@link VerifiedIndex.check}): what {@link decide} would answer, built
 * from what the index recorded, without reading the lock file or any hash.
 * The lock is the one the full decision compared: its code manifest and
 * params were found equal to these, its deps and outs hold these hashes.
 */
export function verifiedDecision(
  context: EngineContext,
  stage: StageDef,
  verified: Verified,
): Decision {
  const manifest = context.fingerprints.get(stage.name)?.manifest ?? {};
  // Built when asked for: `status` of 10,000 stages reads few of them.
  let deps: LockDep[] | undefined;
  const depsNow = () =>
    deps ??= (() => {
      const hashes = verified.depHashes;
      const dirs = verified.depDirs;
      return stage.deps.map((dep, i) => {
        const dir = dirs[i];
        return dir === undefined
          ? { path: dep.path, hash: hashes[i] }
          : { path: dep.path, hash: hashes[i], files: dir.files, size: dir.size };
      });
    })();
  let lock: LockData | undefined;
  const byPath = (a: { path: string }, b: { path: string }) =>
    a.path < b.path ? -1 : a.path > b.path ? 1 : 0;
  let inputHash: (() => Promise<Hash>) | undefined;
  return {
    stage,
    status: "up-to-date",
    reasons: [],
    changes: { code: [], params: [], deps: [] },
    get lock(): LockData {
      return lock ??= (() => {
        const outs = verified.outs;
        return {
          code_manifest: manifest,
          params: stage.params,
          deps: [...depsNow()].sort(byPath),
          outs: stage.outs.map((out, i) => ({
            path: out.path,
            hash: outs[i].hash,
            kind: outs[i].kind,
          })).sort(byPath),
        };
      })();
    },
    lockStamp: verified.lockStamp,
    manifest,
    get deps(): LockDep[] {
      return depsNow();
    },
    restore: [],
    recache: [],
    inputHash: () => (inputHash ??= inputHashOf(manifest, stage, depsNow()))(),
    runCache: undefined,
  };
}
