/**
 * The `pivot` command line: the table of every command, and {@link main},
 * which runs it (`command_line.ts`).
 *
 * @module
 */

import type { Command } from "./command.ts";
import { GLOBAL_OPTIONS } from "./command.ts";
import { type CommandEntry, commandLineHelp, runCommandLine } from "./command_line.ts";

export type { CommandEntry };

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
  return commandLineHelp(COMMANDS);
}

/**
 * Run the CLI with `args`; resolves with the process exit code. `retried`:
 * this is the second attempt, after a damaged state store was set aside.
 *
 * @example
 * ```ts ignore
 * Deno.exit(await main(Deno.args));
 * ```
 */
export function main(args: readonly string[], retried = false): Promise<number> {
  return runCommandLine(args, COMMANDS, retried);
}

export { GLOBAL_OPTIONS };
