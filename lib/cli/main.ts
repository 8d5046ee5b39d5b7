/**
 * The `pivot` command line: global options, dispatch to a command, and the
 * one place where errors become exit codes and one-line messages.
 *
 * @module
 */

import { resolve } from "node:path";
import { messageOf, PivotError } from "../errors.ts";
import { VERSION } from "../version.ts";
import { type Command, commandHelp, GLOBAL_OPTIONS, parseCommandArgs } from "./command.ts";
import { checkout } from "./commands/checkout.ts";
import { complete, completionCommand } from "./commands/completion.ts";
import { commit } from "./commands/commit.ts";
import { dag } from "./commands/dag.ts";
import { data } from "./commands/data.ts";
import { exportCommand } from "./commands/export.ts";
import { importDvc } from "./commands/import_dvc.ts";
import { doctor } from "./commands/doctor.ts";
import { gc } from "./commands/gc.ts";
import { history } from "./commands/history.ts";
import { init } from "./commands/init.ts";
import { list } from "./commands/list.ts";
import { metrics } from "./commands/metrics.ts";
import { params } from "./commands/params.ts";
import { plots } from "./commands/plots.ts";
import { repro } from "./commands/repro.ts";
import { run } from "./commands/run.ts";
import { schema } from "./commands/schema.ts";
import { show } from "./commands/show.ts";
import { status } from "./commands/status.ts";
import { track, untrack } from "./commands/track.ts";
import { ui } from "./commands/ui.ts";
import { verify } from "./commands/verify.ts";
import { Output } from "./output.ts";
import { mark } from "../trace.ts";

/** Every command, in the order `pivot --help` lists them. */
export const COMMANDS: readonly Command[] = [
  init,
  repro,
  run,
  status,
  list,
  dag,
  params,
  metrics,
  plots,
  data,
  track,
  untrack,
  commit,
  checkout,
  verify,
  history,
  show,
  gc,
  ui,
  importDvc,
  exportCommand,
  completionCommand(() => COMMANDS),
  schema,
  doctor,
  complete,
];

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

/** Run the CLI with `args`; resolves with the process exit code. */
export async function main(args: readonly string[]): Promise<number> {
  const { name, rest } = findCommand(args);
  const verbose = rest.includes("-v") || rest.includes("--verbose");
  const output = new Output({ verbose, quiet: rest.includes("-q") || rest.includes("--quiet") });
  const controller = new AbortController();
  let interrupts = 0;
  const onInterrupt = () => {
    // A terminal's Ctrl-C reaches both the launcher and this process; the
    // launcher may forward it again: count one per half second.
    interrupts++;
    if (!controller.signal.aborted) {
      controller.abort();
      output.error("Interrupted: cancelling running stages (Ctrl-C again to quit now)");
      setTimeout(() => interrupts = 1, 500);
    } else if (interrupts > 1) {
      Deno.exit(130);
    }
  };
  Deno.addSignalListener("SIGINT", onInterrupt);
  Deno.addSignalListener("SIGTERM", onInterrupt);
  try {
    if (name === undefined) {
      const parsed = parseCommandArgs(rest, {}, "pivot");
      if (parsed.values.version) {
        output.line(`pivot ${VERSION}`);
        return 0;
      }
      output.line(mainHelp());
      return parsed.values.help ? 0 : 2;
    }
    const command = COMMANDS.find((c) => c.name === name);
    if (!command) {
      throw new PivotError(`unknown command '${name}': run 'pivot --help' for the list`);
    }
    const parsed = parseCommandArgs(rest, command.options, command.name);
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
    const code = await command.run(parsed, { cwd, output, signal: controller.signal, args });
    mark("main: done");
    return code;
  } catch (error) {
    output.clearStatus();
    if (error instanceof PivotError) {
      output.error(`error: ${error.message}`);
      if (verbose && error.cause instanceof Error) output.error(error.cause.stack ?? "");
      return error.exitCode;
    }
    output.error(`error: ${messageOf(error)}`);
    output.error(
      verbose && error instanceof Error
        ? error.stack ?? ""
        : "This is a bug in pivot; run with -v for details and report it.",
    );
    return 70;
  } finally {
    Deno.removeSignalListener("SIGINT", onInterrupt);
    Deno.removeSignalListener("SIGTERM", onInterrupt);
  }
}

export { GLOBAL_OPTIONS };
