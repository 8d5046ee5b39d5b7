/**
 * The protocol every writer of a stage follows — `repro`, `run`, watch mode,
 * `pivot commit` and `pivot checkout` — so that two `pivot` processes on one
 * project never run, restore or commit a stage at once: take the stage's
 * execution lock, decide what to do while holding it, act, release.
 *
 * A stage's lock also guards its deps while it runs: a command that replaces
 * outs in the workspace without running their stage (`checkout`) takes the
 * locks of the stages that read them too, so a running stage never has its
 * input swapped under it, and a lock file never claims a dep hash that the
 * stage did not read.
 *
 * @module
 */

import { join, relative } from "../posix_path.ts";
import type { StageDef } from "../model/stage_def.ts";
import {
  acquireExecLock,
  describeHolder,
  ExecLockError,
  type HeldLock,
  type LockHolder,
  tryExecLock,
} from "../storage/exec_lock.ts";
import { type EngineContext, stageKey } from "./context.ts";
import type { Decision } from "./decide.ts";

/** Options of {@link withStageLock}. */
export interface StageLockOptions {
  /** Run regardless of the lock file (`--force`). */
  readonly forced: boolean;
  /** Stops the wait for another process's lock. */
  readonly signal?: AbortSignal;
  /** Called once when another process holds the lock and this one waits, with the holder. */
  readonly onWait?: (holder: LockHolder) => void;
  /**
   * A decision made before the lock was taken. It is kept when forced or
   * when the stage's lock file is unchanged since (no other process ran or
   * committed the stage meanwhile); otherwise the stage is decided again.
   */
  readonly before?: Decision;
  /**
   * The stage's lock, taken already ({@link tryStageLock}) before `before`
   * was decided: the decision was made under it and is kept as it is (no
   * other process can have run the stage or replaced its deps since; one
   * that rested on a walk made before the lock is made again before it is
   * passed here, see `DecideOptions.reuseWalks`). It is released here, as a
   * lock taken here is.
   */
  readonly held?: HeldLock;
}

/**
 * Take `stage`'s execution lock, decide (or keep `options.before`), and call
 * `act` with the decision while holding the lock.
 *
 * @returns what `act` returns, or `undefined` when `options.signal` fired
 * before the lock was taken (nothing was done).
 */
export async function withStageLock<T>(
  context: EngineContext,
  stage: StageDef,
  options: StageLockOptions,
  act: (decision: Decision) => Promise<T>,
): Promise<T | undefined> {
  let lock = options.held;
  try {
    // As acquiring would: a signal fired already cancels.
    if (lock !== undefined) options.signal?.throwIfAborted();
    lock ??= await acquireStageLock(context, stage, options);
  } catch (error) {
    await options.held?.release();
    if (options.signal?.aborted) return undefined;
    throw error;
  }
  try {
    const { before, forced, held } = options;
    // The decision made before the lock hashed the deps then; a checkout
    // (which holds this lock while it replaces them) may have changed them
    // since, and the lock file must claim what the stage will read. One
    // made while holding the lock (`held`) saw them as they are.
    // Imported here: a checkout takes stage locks and decides nothing (its
    // start is spared decide.ts and verified.ts); a run has them loaded.
    const { decide, depsUnchanged, lockUnchanged } = await import("./decide.ts");
    const keep = before !== undefined &&
      (held !== undefined ||
        (forced || lockUnchanged(before)) && await depsUnchanged(context, before));
    const decision = keep
      ? before
      : await decide(context, stage, { forced, upstreamWillRun: false, nameFiles: false });
    return await act(decision);
  } finally {
    await lock.release();
  }
}

/**
 * `stage`'s execution lock if no other process holds it now (no wait);
 * undefined otherwise, and when the lock cannot be taken at all (then
 * {@link withStageLock} reports why). A decision made while holding it need
 * not be checked again: pass both to {@link withStageLock} (`held`,
 * `before`), or release it.
 */
export function tryStageLock(context: EngineContext, stage: StageDef): HeldLock | undefined {
  try {
    return tryExecLock(join(context.project.tmpDir, "locks"), stageKey(context, stage));
  } catch (error) {
    if (error instanceof ExecLockError) return undefined;
    throw error;
  }
}

function acquireStageLock(
  context: EngineContext,
  stage: StageDef,
  options: { readonly signal?: AbortSignal; readonly onWait?: (holder: LockHolder) => void },
): Promise<HeldLock> {
  return acquireExecLock(join(context.project.tmpDir, "locks"), stageKey(context, stage), {
    signal: options.signal,
    onWait: options.onWait,
  });
}

/**
 * Take the execution locks of `stages` (for a command that writes their outs
 * or their deps without running them), in pipeline order so that two such
 * commands cannot deadlock; a `repro` holds one stage lock at a time.
 * `onWait` is told each stage another process holds.
 *
 * @returns a function releasing them all, or `undefined` when `signal`
 * fired while waiting (none is held then).
 */
export async function lockStages(
  context: EngineContext,
  stages: Iterable<StageDef>,
  options: {
    readonly signal?: AbortSignal;
    readonly onWait?: (stage: StageDef, holder: LockHolder) => void;
  } = {},
): Promise<(() => Promise<void>) | undefined> {
  const wanted = new Set([...stages].map((s) => s.name));
  const held: HeldLock[] = [];
  const releaseAll = async () => {
    for (const lock of held.reverse()) await lock.release();
  };
  try {
    for (const stage of context.graph.order) {
      if (!wanted.has(stage.name)) continue;
      held.push(
        await acquireStageLock(context, stage, {
          signal: options.signal,
          onWait: (holder) => options.onWait?.(stage, holder),
        }),
      );
    }
  } catch (error) {
    await releaseAll();
    if (options.signal?.aborted) return undefined;
    throw error;
  }
  return releaseAll;
}

/** The warning shown once when `stage`'s lock is held by another process. */
export function lockWaitMessage(
  context: EngineContext,
  stage: StageDef,
  holder: LockHolder,
): string {
  return `stage '${stage.name}' is locked by another pivot process; waiting for it: ${
    describeHolder(holder, relative(context.project.root, holder.path))
  }`;
}

/** Why a wait for `stage`'s lock ended in cancellation (the holder, if one was seen). */
export function lockCancelReason(context: EngineContext, holder: LockHolder | undefined): string {
  return holder === undefined
    ? "cancelled while waiting for its execution lock"
    : `cancelled while waiting for its execution lock, ${
      describeHolder(holder, relative(context.project.root, holder.path))
    }`;
}

/**
 * The one-line message for an {@link ExecLockError} on `stage` (the lock
 * directory or file is unusable), or undefined for any other error.
 */
export function lockErrorMessage(
  context: EngineContext,
  stage: StageDef,
  error: unknown,
): string | undefined {
  if (!(error instanceof ExecLockError)) return undefined;
  return `stage '${stage.name}': ${error.message.replaceAll(context.project.root + "/", "")}`;
}
