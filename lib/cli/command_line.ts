/**
 * Running the `pivot` command line over a table of commands: global options,
 * dispatch to a command, and the one place where errors become exit codes
 * and one-line messages. `main.ts` holds the table of every command;
 * `main_in_launcher.ts` the few the launcher may answer in its own process.
 *
 * @module
 */

import { resolve } from "../posix_path.ts";
import { messageOf, PivotError } from "../errors.ts";
import { findProject } from "../pipeline/find_project.ts";
import { isCorruptStateError, setAsideState } from "../storage/state.ts";
import { didYouMean } from "../suggest.ts";
import { VERSION } from "../version.ts";
import { type Command, commandHelp, parseCommandArgs } from "./command.ts";
import { cwdOption } from "./cwd_option.ts";
import { Output } from "./output.ts";
import { cancelledExitCode, signalExitCode } from "./signal_exit.ts";
import { mark } from "../trace.ts";
import { attemptPhase, ChildNeeded } from "../launcher_attempt.ts";

/**
 * A command as the table lists it: what `pivot --help`, did-you-mean and
 * dispatch need, without loading the command's module (and everything it
 * imports) until the command runs.
 */
export interface CommandEntry {
  /** Name (`repro`); the same as the loaded command's. */
  readonly name: string;
  /** One line for `pivot --help`; the same as the loaded command's. */
  readonly summary: string;
  /** Left out of `pivot --help` and completions (an internal command). */
  readonly hidden?: boolean;
  /** Import the command's module. */
  load(): Promise<Command>;
}

/** What `pivot --help` prints: the usage and the visible commands of `commands`. */
export function commandLineHelp(commands: readonly CommandEntry[]): string {
  const shown = commands.filter((c) => !c.hidden);
  const width = Math.max(...shown.map((c) => c.name.length)) + 2;
  return [
    "pivot: run pipeline stages when their code, params or data change.",
    "",
    "Usage: pivot <command> [options]",
    "",
    "Commands:",
    ...shown.map((c) => `  ${c.name.padEnd(width)}${c.summary}`),
    "",
    "Global options: -v/--verbose, -q/--quiet, --cwd DIR, --help, --version",
    "Run 'pivot <command> --help' for a command's options.",
  ].join("\n");
}

/** Split off the command name: the first argument that is not a global option. */
export function findCommand(args: readonly string[]): { name: string | undefined; rest: string[] } {
  const rest = [...args];
  for (let i = 0; i < rest.length; i++) {
    const arg = rest[i];
    if (arg === "--cwd") {
      i++;
      continue;
    }
    if (arg.startsWith("-")) continue;
    rest.splice(i, 1);
    return { name: arg, rest };
  }
  return { name: undefined, rest };
}

/** The output for the command line's arguments after the command name (`-v`, `-q`). */
export function outputFor(rest: readonly string[]): Output {
  const verbose = rest.includes("-v") || rest.includes("--verbose");
  return new Output({ verbose, quiet: rest.includes("-q") || rest.includes("--quiet") });
}

/**
 * Run the command line `args` with the commands of `commands`, writing to
 * `output`; resolves with the process exit code. `retried`: this is the
 * second attempt, after a damaged state store was set aside.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await runCommandLine(Deno.args, COMMANDS));
 * ```
 */
export async function runCommandLine(
  args: readonly string[],
  commands: readonly CommandEntry[],
  retried = false,
  output: Output = outputFor(findCommand(args).rest),
): Promise<number> {
  const { name, rest } = findCommand(args);
  const verbose = output.verbose;
  const controller = new AbortController();
  const cancel = (why: string) => {
    if (controller.signal.aborted) return false;
    controller.abort();
    output.error(why);
    return true;
  };
  let interrupts = 0;
  // The signal that cancelled the command: its exit code follows it (lib/cli/signal_exit.ts).
  let cancelledBy: "SIGINT" | "SIGTERM" | undefined;
  const onSignal = (signal: "SIGINT" | "SIGTERM") => () => {
    // A terminal's Ctrl-C reaches both the launcher and this process; the
    // launcher may forward it again: count one per half second.
    interrupts++;
    const why = signal === "SIGINT"
      ? "Interrupted: cancelling running stages (Ctrl-C again to quit now)"
      : "Terminated: cancelling running stages (SIGTERM again to quit now)";
    if (cancel(why)) {
      cancelledBy = signal;
      setTimeout(() => interrupts = 1, 500);
    } else if (interrupts > 1) {
      Deno.exit(signalExitCode(signal));
    }
  };
  const onInterrupt = onSignal("SIGINT");
  const onTerminate = onSignal("SIGTERM");
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onTerminate);
  const orphanWatch = watchParent(() =>
    cancel("error: the pivot process that started this one has ended: cancelling")
  );
  try {
    const code = await dispatch(commands, name, rest, output, controller.signal, args);
    // A closed stdout (`pivot list | head -1`) ends the command as SIGPIPE
    // ends a Unix tool: 128 + 13, unless it failed for a reason of its own.
    return cancelledExitCode(output.stdoutClosed && code === 0 ? 141 : code, cancelledBy);
  } catch (error) {
    // The launcher's child answers instead (`mainInLauncher`).
    if (error instanceof ChildNeeded) throw error;
    output.clearStatus();
    if (error instanceof PivotError) {
      for (const line of error.message.split("\n")) output.error(`error: ${line}`);
      if (verbose && error.cause instanceof Error) output.error(error.cause.stack ?? "");
      return cancelledExitCode(error.exitCode, cancelledBy);
    }
    if (isCorruptStateError(error) && !retried) {
      // Before the launcher's attempt has shown anything, its child sees the damage itself.
      if (attemptPhase() === "trying") throw new ChildNeeded("the state store is damaged");
      // Damage found after the store was opened (a bad page deep in the
      // file): the store is a cache, so set it aside and run again.
      const stateDir = stateDirOf(rest);
      if (stateDir !== undefined) {
        output.error(
          `warning: the state store ${stateDir}/state.db is damaged (${
            messageOf(error)
          }): moved it to ${setAsideState(stateDir)}; running the command again`,
        );
        // In the launcher's process, "again" is in its child, as any other run is.
        if (attemptPhase() === "committed") throw new ChildNeeded("running the command again");
        return await runCommandLine(args, commands, true);
      }
    }
    output.error(`error: ${messageOf(error)}`);
    output.error(
      verbose && error instanceof Error
        ? error.stack ?? ""
        : "This is a bug in pivot; run with -v for details and report it.",
    );
    return 70;
  } finally {
    // Only when there is one: even `clearInterval(undefined)` loads Deno's
    // Node layer (its timers), ~10 ms of CPU a launcher's attempt never needs.
    if (orphanWatch !== undefined) clearInterval(orphanWatch);
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onTerminate);
  }
}

/** Run command `name` with its arguments `rest`; resolves with the exit code. */
async function dispatch(
  commands: readonly CommandEntry[],
  name: string | undefined,
  args: readonly string[],
  output: Output,
  signal: AbortSignal,
  all: readonly string[],
): Promise<number> {
  if (name === undefined) {
    const parsed = await parseCommandArgs(args, {}, undefined);
    if (parsed.values.version) {
      output.line(`pivot ${VERSION}`);
      return 0;
    }
    output.line(commandLineHelp(commands));
    return parsed.values.help ? 0 : 2;
  }
  const entry = commands.find((c) => c.name === name);
  if (!entry) {
    const suggestion = didYouMean(name, commands.map((c) => c.name));
    throw new PivotError(
      `unknown command '${name}'${suggestion || ": run 'pivot --help' for the list"}`,
    );
  }
  const command = await entry.load();
  const parsed = await parseCommandArgs(args, command.options, command.name);
  if (parsed.values.help) {
    output.line(commandHelp(command));
    return 0;
  }
  if (parsed.values.version) {
    output.line(`pivot ${VERSION}`);
    return 0;
  }
  const cwd = resolve(Deno.cwd(), (parsed.values.cwd as string | undefined) ?? ".");
  mark(`main: running ${command.name}`);
  const code = await command.run(parsed, { cwd, output, signal, args: all });
  mark("main: done");
  return code;
}

/** The state directory of the project the command line `rest` runs in, if it finds one. */
function stateDirOf(rest: readonly string[]): string | undefined {
  try {
    return findProject(resolve(Deno.cwd(), cwdOption(rest) ?? ".")).stateDir;
  } catch {
    return undefined;
  }
}

/**
 * In a child started by the launcher (`lib/cli/launcher.ts`), call `onOrphaned`
 * once if the launcher dies without passing a signal on (SIGKILL cannot be
 * passed on): this process is then re-parented, and a pipeline must not go
 * on running unseen. A `getppid` every half second, on a timer that never
 * keeps the process alive: nothing measurable on a no-op run.
 */
function watchParent(onOrphaned: () => void): ReturnType<typeof setInterval> | undefined {
  if (Deno.env.get("PIVOT_CHILD") !== "1") return undefined;
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    clearInterval(timer);
    onOrphaned();
    // Whatever does not stop on cancellation is stopped outright after a grace period.
    Deno.unrefTimer(setTimeout(() => Deno.exit(130), ORPHAN_GRACE_MS));
  }, 500);
  Deno.unrefTimer(timer);
  return timer;
}

/** How long an orphaned child may take to cancel cleanly before it exits anyway. */
const ORPHAN_GRACE_MS = 10_000;
