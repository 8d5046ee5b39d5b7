/**
 * The protocol every writer of a stage follows — `repro`, `run`, watch mode
 * and `pivot commit` — so that two `pivot` processes on one project never
 * run, restore or commit a stage at once: take the stage's execution lock,
 * decide what to do while holding it, act, release.
 *
 * @module
 */

import { join, relative } from "node:path";
import type { StageDef } from "../model/stage_def.ts";
import {
  acquireExecLock,
  describeHolder,
  ExecLockError,
  type LockHolder,
} from "../storage/exec_lock.ts";
import { type EngineContext, stageKey } from "./context.ts";
import { decide, type Decision, lockUnchanged } from "./decide.ts";

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
  let lock;
  try {
    lock = await acquireExecLock(join(context.project.tmpDir, "locks"), stageKey(context, stage), {
      signal: options.signal,
      onWait: options.onWait,
    });
  } catch (error) {
    if (options.signal?.aborted) return undefined;
    throw error;
  }
  try {
    const { before, forced } = options;
    const decision = before !== undefined && (forced || lockUnchanged(before))
      ? before
      : await decide(context, stage, { forced, upstreamWillRun: false });
    return await act(decision);
  } finally {
    await lock.release();
  }
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
