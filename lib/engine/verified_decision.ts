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
  return new VerifiedDecision(
    stage,
    verified,
    context.fingerprints.get(stage.name)?.manifest ?? {},
  );
}

const byPath = (a: { path: string }, b: { path: string }) =>
  a.path < b.path ? -1 : a.path > b.path ? 1 : 0;

/**
 * One object a stage, its lock, deps and input hash built when asked for
 * (`status` of 10,000 stages reads few of them). A class, not an object
 * literal with getters and closures: such a literal is built property by
 * property (~9 µs a stage at 10,000 stages, against the class's one
 * allocation).
 */
class VerifiedDecision implements Decision {
  readonly status = "up-to-date";
  readonly reasons = [];
  readonly changes = { code: [], params: [], deps: [] };
  readonly lockStamp: Decision["lockStamp"];
  readonly restore = [];
  readonly recache = [];
  readonly runCache = undefined;
  readonly #verified: Verified;
  #deps: LockDep[] | undefined;
  #lock: LockData | undefined;
  #inputHash: (() => Promise<Hash>) | undefined;

  constructor(
    readonly stage: StageDef,
    verified: Verified,
    readonly manifest: Readonly<Record<string, Hash>>,
  ) {
    this.#verified = verified;
    this.lockStamp = verified.lockStamp;
  }

  get deps(): LockDep[] {
    return this.#deps ??= this.#depsNow();
  }

  #depsNow(): LockDep[] {
    const hashes = this.#verified.depHashes;
    const dirs = this.#verified.depDirs;
    return this.stage.deps.map((dep, i) => {
      const dir = dirs[i];
      return dir === undefined
        ? { path: dep.path, hash: hashes[i] }
        : { path: dep.path, hash: hashes[i], files: dir.files, size: dir.size };
    });
  }

  get lock(): LockData {
    return this.#lock ??= (() => {
      const outs = this.#verified.outs;
      const { stage } = this;
      return {
        code_manifest: this.manifest,
        params: stage.params,
        deps: [...this.deps].sort(byPath),
        outs: stage.outs.map((out, i) => ({
          path: out.path,
          hash: outs[i].hash,
          kind: outs[i].kind,
        })).sort(byPath),
      };
    })();
  }

  /** The run cache's key part (lib/engine/input_hash.ts), computed once (called as a method). */
  inputHash(): Promise<Hash> {
    return (this.#inputHash ??= inputHashOf(this.manifest, this.stage, this.deps))();
  }
}
