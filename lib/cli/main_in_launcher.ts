/**
 * The launcher's attempt at a command in its own process
 * (lib/launcher_attempt.ts): {@link mainInLauncher}.
 *
 * The launcher's process has Pivot's configuration, not the user's, and no
 * `--unstable-lazy-dynamic-imports`: importing `main.ts` there would load
 * every command's modules (its written-out `import()`s, kept for the user's
 * lock file, see `main.ts`). This module's table names the commands it
 * attempts by computed specifiers, which Deno follows only when one is
 * imported, so the attempt loads the modules of the one command it runs.
 *
 * @module
 */

import { beginAttempt, ChildNeeded, endAttempt } from "../launcher_attempt.ts";
import { gateBarsRecord } from "../noop_stamps.ts";
import { mark } from "../trace.ts";
import type { Command } from "./command.ts";
import { type CommandEntry, findCommand, outputFor, runCommandLine } from "./command_line.ts";
import type { Output } from "./output.ts";

const REPRO = "./commands/repro.ts";
const STATUS = "./commands/status.ts";
const LIST = "./commands/list.ts";
const CHECKOUT = "./commands/checkout.ts";
const NOOP_ANSWER = "./noop_answer.ts";

/**
 * The commands the launcher attempts: those a load cache can answer
 * (`repro`, `status`, `list`, `checkout`), with the summaries of `main.ts`'s table
 * (`tests/cli/command_table_test.ts` compares them).
 */
export const ATTEMPTED: readonly CommandEntry[] = [
  {
    name: "repro",
    summary: "Run stages (default: all) and everything upstream of them that is stale.",
    load: async () => ((await import(REPRO)) as typeof import("./commands/repro.ts")).repro,
  },
  {
    name: "status",
    summary: "Show which stages would run and why.",
    load: async () => ((await import(STATUS)) as typeof import("./commands/status.ts")).status,
  },
  {
    name: "list",
    summary: "List the stages, in pipeline order.",
    load: async () => ((await import(LIST)) as typeof import("./commands/list.ts")).list,
  },
  {
    name: "checkout",
    summary: "Restore outs from the cache as the lock files record them.",
    load: async () =>
      ((await import(CHECKOUT)) as typeof import("./commands/checkout.ts")).checkout,
  },
];

/**
 * Run the command line `args` in the launcher's process, as an attempt:
 * resolves with the exit code when the command ran to its end here, or with
 * undefined, having written nothing, when it needs the launcher's child (it
 * must load the user's code, or is not one of {@link ATTEMPTED}).
 *
 * @example
 * ```ts ignore
 * const code = await mainInLauncher(["repro"]) ?? await relaunch(["repro"]);
 * ```
 */
export async function mainInLauncher(args: readonly string[]): Promise<number | undefined> {
  const { name, rest } = findCommand(args);
  if (!ATTEMPTED.some((entry) => entry.name === name)) return undefined;
  mark("main: attempting the command in the launcher's process");
  const output = outputFor(rest);
  output.hold();
  beginAttempt(() => output.release());
  try {
    const code = await fromRecord(name, args, output) ??
      await runCommandLine(args, ATTEMPTED, false, output);
    output.release();
    return code;
  } catch (error) {
    if (!(error instanceof ChildNeeded)) throw error;
    mark(`main: ${error.message}`);
    output.discard();
    return undefined;
  } finally {
    endAttempt();
  }
}

/**
 * A whole-graph no-op `repro` answered from the record of the last one
 * (lib/cli/noop_answer.ts), loading none of the full `repro`'s modules (the
 * session's loading, the engine, the driver); undefined, having written
 * nothing, when the record does not answer: the full `repro` then runs.
 */
async function fromRecord(
  name: string | undefined,
  args: readonly string[],
  output: Output,
): Promise<number | undefined> {
  if (name !== "repro") return undefined;
  const barred = gateBarsRecord();
  if (barred !== undefined) {
    mark(`main: the no-op record cannot answer: ${barred}: the full way`);
    return undefined;
  }
  const answer: typeof import("./noop_answer.ts") = await import(NOOP_ANSWER);
  if (!answer.answersCommandLine(args, "repro")) return undefined;
  const entry: CommandEntry = {
    name: "repro",
    summary: answer.reproFromRecord.summary,
    load: () => Promise.resolve(answer.reproFromRecord),
  };
  try {
    return await runCommandLine(args, [entry], false, output);
  } catch (error) {
    if (!(error instanceof answer.RecordMissed)) throw error;
    mark(`main: ${error.message}: the full way`);
    return undefined;
  }
}

/**
 * Start loading the modules of the command `args` names, if it is one of
 * {@link ATTEMPTED}, without waiting: for the launcher to overlap them with
 * its hash of a touched file (lib/cli/gate_rehash.ts), whose reads leave
 * this thread idle at times. A failure is left to {@link mainInLauncher}.
 */
export function preloadCommand(args: readonly string[]): void {
  const { name } = findCommand(args);
  ATTEMPTED.find((entry) => entry.name === name)?.load().catch(() => {});
}

/** The commands of {@link ATTEMPTED}, loaded (for tests). */
export function loadAttempted(): Promise<Command[]> {
  return Promise.all(ATTEMPTED.map((entry) => entry.load()));
}
