/**
 * Answering a command in the launcher's own process, without its child.
 *
 * The launcher (`lib/cli/launcher.ts`) re-executes Pivot in a child `deno`
 * that has the user's `deno.json`, because only such a process loads the
 * user's modules as the user's configuration says. A command that never
 * loads them (a no-op `repro`, `status` or `list` answered from the load
 * cache, lib/cli/load_cache.ts) gives the same result in the launcher's own
 * process, one Deno start cheaper. So the launcher first *attempts* such a
 * command here; whatever would need the user's code (importing the pipeline,
 * starting a stage's worker) or could not be undone before the child runs
 * calls {@link needChild}, and the attempt ends with {@link ChildNeeded}: the
 * launcher then starts the child as it always did, and the attempt leaves
 * nothing behind but caches (its output is held until it commits).
 *
 * The attempt commits ({@link commitAttempt}) once the command has what it
 * needs without the user's code; from then on it runs to its end here, and
 * a {@link needChild} is a bug in Pivot (an internal error), never a second
 * run of half a command.
 *
 * Outside an attempt (every other process) this module does nothing.
 *
 * @module
 */

/** Thrown by {@link needChild} during an attempt: the launcher starts its child instead. */
export class ChildNeeded extends Error {
  /** `why` says what needed the child, for the trace. */
  constructor(why: string) {
    super(`the command needs the child process: ${why}`);
    this.name = "ChildNeeded";
  }
}

/**
 * Where this process stands: `none` (no attempt: an ordinary process),
 * `trying` (an attempt not yet committed), `committed`.
 */
export type AttemptPhase = "none" | "trying" | "committed";

let phase: AttemptPhase = "none";
let onCommit: (() => void)[] = [];

/**
 * Start an attempt in this process (the launcher's); `whenCommitted` runs
 * once if it commits. End it with {@link endAttempt}.
 *
 * @example
 * ```ts ignore
 * beginAttempt(() => output.release());
 * ```
 */
export function beginAttempt(whenCommitted: () => void): void {
  phase = "trying";
  onCommit = [whenCommitted];
}

/** Where this process stands (see {@link AttemptPhase}). */
export function attemptPhase(): AttemptPhase {
  return phase;
}

/**
 * The command has everything it needs without the user's code: it finishes
 * in this process. Nothing outside an attempt, or after it committed.
 */
export function commitAttempt(): void {
  if (phase !== "trying") return;
  phase = "committed";
  for (const callback of onCommit.splice(0)) callback();
}

/** End the attempt, committed or not: this process is an ordinary one again. */
export function endAttempt(): void {
  phase = "none";
  onCommit = [];
}

/**
 * Say that what comes next needs the launcher's child (`why`: what, in a few
 * words). During an undecided attempt, throws {@link ChildNeeded}; after
 * the attempt committed, throws an internal error (the attempt committed too
 * early: a bug); otherwise does nothing.
 *
 * @example
 * ```ts
 * import { needChild } from "./launcher_attempt.ts";
 *
 * needChild("importing the pipeline"); // no attempt in this process: nothing happens
 * ```
 */
export function needChild(why: string): void {
  if (phase === "trying") throw new ChildNeeded(why);
  if (phase === "committed") {
    throw new Error(`${why} in the launcher's process, after it took on the command`);
  }
}
