/**
 * The `pivot` command line: global options, dispatch to a command, and the
 * one place where errors become exit codes and one-line messages.
 *
 * @module
 */

import { resolve } from "node:path";
import { messageOf, PivotError } from "../errors.ts";
import { findProject } from "../pipeline/find_project.ts";
import { isCorruptStateError, setAsideState } from "../storage/state.ts";
import { didYouMean } from "../suggest.ts";
import { VERSION } from "../version.ts";
import { type Command, commandHelp, GLOBAL_OPTIONS, parseCommandArgs } from "./command.ts";
import { cwdOption } from "./cwd_option.ts";
import { Output } from "./output.ts";
import { cancelledExitCode, signalExitCode } from "./signal_exit.ts";
import { mark } from "../trace.ts";

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

// Command modules are imported by written-out `import()`s, which Deno follows
// when it loads this module (the launcher imports this module by a computed
// specifier, so its own process loads none of it). That keeps the npm
// packages of every command resolved on a project's first command, as
// before: a computed specifier here made each command's packages enter the
// user's deno.lock on its first use, so that a read-only command such as
// `data diff` changed the workspace. Measured on the 176-stage no-op: the
// same CPU within noise (docs/performance.md, "Start-up and the no-op").
// Once the user's lock holds those packages, the launcher's child runs with
// `--unstable-lazy-dynamic-imports` and loads only the command it runs
// (`user_lock.ts`).

/** Every command, in the order `pivot --help` lists them. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: "init",
    summary: "Create .pivot/ here (with --example, also a starter pipeline).",
    load: async () => (await import("./commands/init.ts")).init,
  },
  {
    name: "repro",
    summary: "Run stages (default: all) and everything upstream of them that is stale.",
    load: async () => (await import("./commands/repro.ts")).repro,
  },
  {
    name: "run",
    summary: "Run exactly the named stages (no upstream stages), skipping those up to date.",
    load: async () => (await import("./commands/run.ts")).run,
  },
  {
    name: "status",
    summary: "Show which stages would run and why.",
    load: async () => (await import("./commands/status.ts")).status,
  },
  {
    name: "list",
    summary: "List the stages, in pipeline order.",
    load: async () => (await import("./commands/list.ts")).list,
  },
  {
    name: "dag",
    summary: "Show the pipeline graph (of TARGETS and their upstream, or all).",
    load: async () => (await import("./commands/dag.ts")).dag,
  },
  {
    name: "params",
    summary: "Show the params of stages, or diff them with git HEAD (or --rev).",
    load: async () => (await import("./commands/params.ts")).params,
  },
  {
    name: "metrics",
    summary: "Show metrics (flattened to dotted keys), or diff them with git HEAD (or --rev).",
    load: async () => (await import("./commands/metrics.ts")).metrics,
  },
  {
    name: "plots",
    summary: "Show plots in one offline HTML page, or overlay them at two revisions (diff).",
    load: async () => (await import("./commands/plots.ts")).plots,
  },
  {
    name: "data",
    summary: "Get an out or tracked file as at a revision, or diff data row by row.",
    load: async () => (await import("./commands/data.ts")).data,
  },
  {
    name: "track",
    summary: "Cache files or directories no stage produces, recorded in PATH.pvt for git.",
    load: async () => (await import("./commands/track.ts")).track,
  },
  {
    name: "untrack",
    summary: "Stop tracking data: remove its PATH.pvt and .gitignore line (the data stays).",
    load: async () => (await import("./commands/track.ts")).untrack,
  },
  {
    name: "commit",
    summary: "Record the workspace as it is into lock files and the cache.",
    load: async () => (await import("./commands/commit.ts")).commit,
  },
  {
    name: "checkout",
    summary: "Restore outs from the cache as the lock files record them.",
    load: async () => (await import("./commands/checkout.ts")).checkout,
  },
  {
    name: "verify",
    summary:
      "CI gate: every stage up to date, every out and tracked file restorable (exit 1 if not).",
    load: async () => (await import("./commands/verify.ts")).verify,
  },
  {
    name: "history",
    summary: "List past runs (newest first): when, which command, what each stage did.",
    load: async () => (await import("./commands/history.ts")).history,
  },
  {
    name: "show",
    summary: "Show a past run (default: the latest) stage by stage.",
    load: async () => (await import("./commands/show.ts")).show,
  },
  {
    name: "gc",
    summary: "Remove cache objects (and state entries) that nothing refers to any more.",
    load: async () => (await import("./commands/gc.ts")).gc,
  },
  {
    name: "ui",
    summary: "Serve the web UI: the live pipeline graph, explanations, logs; run stages from it.",
    load: async () => (await import("./commands/ui.ts")).ui,
  },
  {
    name: "import-dvc",
    summary: "Convert a DVC project (dvc.yaml, dvc.lock, .dvc files) into a Pivot project.",
    load: async () => (await import("./commands/import_dvc.ts")).importDvc,
  },
  {
    name: "export",
    summary: "Write a dvc.yaml whose stages run 'pivot run <stage>' (for DVC-based CI).",
    load: async () => (await import("./commands/export.ts")).exportCommand,
  },
  {
    name: "push",
    summary: "Upload to a remote the cached outs and tracked data the remote lacks.",
    load: async () => (await import("./commands/transfer.ts")).pushCommand,
  },
  {
    name: "fetch",
    summary: "Download from a remote the cached outs and tracked data the cache lacks.",
    load: async () => (await import("./commands/transfer.ts")).fetchCommand,
  },
  {
    name: "pull",
    summary: "Fetch from a remote, then check out: restore outs and tracked data.",
    load: async () => (await import("./commands/transfer.ts")).pullCommand,
  },
  {
    name: "remote",
    summary: "Manage remotes: list, add NAME URL [-d], remove NAME, default [NAME].",
    load: async () => (await import("./commands/remote.ts")).remote,
  },
  {
    name: "config",
    summary: "Settings: get KEY, set KEY VALUE, unset KEY, list (--local: config.local.yaml).",
    load: async () => (await import("./commands/config.ts")).config,
  },
  {
    name: "completion",
    summary: "Print the shell completion script for bash, zsh or fish.",
    load: async () => (await import("./commands/completion.ts")).completionCommand(loadCommands),
  },
  {
    name: "help",
    summary: "Show the list of commands, or a command's options (as --help does).",
    load: async () => (await import("./commands/help.ts")).helpCommand(loadCommands, mainHelp),
  },
  {
    name: "schema",
    summary: "Print the JSON Schema of pivot.yaml, config.yaml or .pvt files.",
    load: async () => (await import("./commands/schema.ts")).schema,
  },
  {
    name: "doctor",
    summary: "Show versions, how pivot was started, and the project's setup (for bug reports).",
    load: async () => (await import("./commands/doctor.ts")).doctor,
  },
  {
    name: "__complete",
    summary: "Completion candidates for the shell scripts (internal).",
    hidden: true,
    load: async () => (await import("./commands/completion.ts")).complete,
  },
];

/** Every command, loaded (for the completion scripts, which list every command's options). */
export function loadCommands(): Promise<Command[]> {
  return Promise.all(COMMANDS.map((entry) => entry.load()));
}

function mainHelp(): string {
  const shown = COMMANDS.filter((c) => !c.hidden);
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
function findCommand(args: readonly string[]): { name: string | undefined; rest: string[] } {
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

/**
 * Run the CLI with `args`; resolves with the process exit code. `retried`:
 * this is the second attempt, after a damaged state store was set aside.
 */
export async function main(args: readonly string[], retried = false): Promise<number> {
  const { name, rest } = findCommand(args);
  const verbose = rest.includes("-v") || rest.includes("--verbose");
  const output = new Output({ verbose, quiet: rest.includes("-q") || rest.includes("--quiet") });
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
    const code = await dispatch(name, rest, output, controller.signal, args);
    // A closed stdout (`pivot list | head -1`) ends the command as SIGPIPE
    // ends a Unix tool: 128 + 13, unless it failed for a reason of its own.
    return cancelledExitCode(output.stdoutClosed && code === 0 ? 141 : code, cancelledBy);
  } catch (error) {
    output.clearStatus();
    if (error instanceof PivotError) {
      for (const line of error.message.split("\n")) output.error(`error: ${line}`);
      if (verbose && error.cause instanceof Error) output.error(error.cause.stack ?? "");
      return cancelledExitCode(error.exitCode, cancelledBy);
    }
    if (isCorruptStateError(error) && !retried) {
      // Damage found after the store was opened (a bad page deep in the
      // file): the store is a cache, so set it aside and run again.
      const stateDir = stateDirOf(rest);
      if (stateDir !== undefined) {
        output.error(
          `warning: the state store ${stateDir}/state.db is damaged (${
            messageOf(error)
          }): moved it to ${setAsideState(stateDir)}; running the command again`,
        );
        return await main(args, true);
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
    clearInterval(orphanWatch);
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onTerminate);
  }
}

/** Run command `name` with its arguments `rest`; resolves with the exit code. */
async function dispatch(
  name: string | undefined,
  args: readonly string[],
  output: Output,
  signal: AbortSignal,
  all: readonly string[],
): Promise<number> {
  if (name === undefined) {
    const parsed = parseCommandArgs(args, {}, undefined);
    if (parsed.values.version) {
      output.line(`pivot ${VERSION}`);
      return 0;
    }
    output.line(mainHelp());
    return parsed.values.help ? 0 : 2;
  }
  const entry = COMMANDS.find((c) => c.name === name);
  if (!entry) {
    const suggestion = didYouMean(name, COMMANDS.map((c) => c.name));
    throw new PivotError(
      `unknown command '${name}'${suggestion || ": run 'pivot --help' for the list"}`,
    );
  }
  const command = await entry.load();
  const parsed = parseCommandArgs(args, command.options, command.name);
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

export { GLOBAL_OPTIONS };
