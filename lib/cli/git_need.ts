/**
 * What a command says when it needs git and there is none: which command
 * needs it, why, and what to do, instead of the storage layer's generic
 * "comparing with a revision needs git".
 *
 * @module
 */

import { PivotError } from "../errors.ts";
import { GitUnavailable } from "../storage/read_at_revision.ts";

/** Why a command needs git, for {@link needingGit}. */
export interface GitNeed {
  /** The command (and option) that needs git: `gc --all-commits`. */
  readonly what: string;
  /** Why, in a few words: `it keeps what every commit refers to`. */
  readonly why: string;
  /** What does without git, if anything: `drop --all-commits to …`. */
  readonly instead?: string;
}

/**
 * Why `COMMAND diff` needs git, for `params`, `metrics` and `plots`, whose
 * `show` does without.
 *
 * @example
 * ```ts ignore
 * diffNeed("metrics").instead; // "use 'pivot metrics show' for the workspace's metrics"
 * ```
 */
export function diffNeed(command: "params" | "metrics" | "plots"): GitNeed {
  return {
    what: `${command} diff`,
    why: "it compares with git HEAD, or --rev",
    instead: `use 'pivot ${command} show' for the workspace's ${command}`,
  };
}

/**
 * Run `fn`; when it finds no git repository (or no git), throw one line
 * naming the command, why it needs git and how to go on. With no `need`,
 * just run `fn`.
 *
 * @example
 * ```ts ignore
 * await needingGit(
 *   { what: "params diff", why: "it compares with HEAD, or --rev", instead: "use 'pivot params show'" },
 *   () => paramsAtRevision(options),
 * );
 * // error: params diff needs a git repository (it compares with HEAD, or --rev), and /tmp/p is not in one: …
 * ```
 */
export async function needingGit<T>(
  need: GitNeed | undefined,
  fn: () => Promise<T>,
): Promise<T> {
  try {
    return await fn();
  } catch (error) {
    if (need === undefined || !(error instanceof GitUnavailable)) throw error;
    const or = need.instead === undefined ? "" : `, or ${need.instead}`;
    throw new PivotError(
      error.missing === "git"
        ? `${need.what} needs git (${need.why}), which is not installed: install git${or}`
        : `${need.what} needs a git repository (${need.why}), and ${error.dir} is not in one: ` +
          `run it in the git repository the project is committed in${or}`,
      { cause: error },
    );
  }
}
