/**
 * Running a command stage's commands: each in a process of its own, through
 * the user's shell (`$SHELL -c`, else `/bin/sh`, without reading its start-up
 * files, as `dvc repro` does), in the stage's working directory, with the
 * project's environment. Output streams line by line to the engine, which
 * shows it with the stage's prefix; the exit code decides failure.
 *
 * Each process starts a process group of its own (a new session), so that a
 * cancel (Ctrl-C, RPC `cancel`) reaches everything the command started: the
 * group gets SIGINT, then SIGTERM after the grace period, then SIGKILL. If
 * Pivot dies without cancelling (SIGKILL), a guard in the group stops it
 * (`lib/worker/group_guard.ts`).
 *
 * Deno's permissions cannot confine a process: a command can read and write
 * anything its user can. What is checked instead is in
 * `lib/engine/command_stage.ts` and docs/command-stages.md.
 *
 * @module
 */

import { basename } from "../posix_path.ts";
import { guardedCommand, releaseGuard } from "./group_guard.ts";
import type { LogSink } from "./pool.ts";

/** What to run. */
export interface CommandRun {
  /** The stage's full name (in `PIVOT_STAGE`). */
  readonly stage: string;
  /** The commands, run one after another; the first to fail stops the rest. */
  readonly commands: readonly string[];
  /** Working directory. */
  readonly cwd: string;
  /** The project root (in `PIVOT_PROJECT_ROOT` and `DVC_ROOT`). */
  readonly projectRoot: string;
  /** How long a cancelled command may take to exit after SIGINT, then after SIGTERM (ms). */
  readonly graceMs: number;
}

/** How the commands ended. */
export type CommandOutcome =
  | { readonly status: "done" }
  | {
    readonly status: "failed";
    /** The command that failed. */
    readonly command: string;
    /** Its exit code, or undefined when it could not start or was killed by a signal. */
    readonly code: number | undefined;
    /** The signal that killed it, if any. */
    readonly signal: string | undefined;
    /** Why it could not start, if it could not. */
    readonly error: string | undefined;
  }
  | { readonly status: "cancelled" };

/**
 * The shell a command runs in, with options that keep it from reading the
 * user's start-up files (which could change the environment): DVC's choice.
 */
function shellFor(command: string): { shell: string; args: string[] } {
  const shell = Deno.env.get("SHELL") || "/bin/sh";
  const options: Readonly<Record<string, string[]>> = {
    bash: ["--noprofile", "--norc"],
    zsh: ["--no-rcs"],
    fish: ["--no-config"],
  };
  return { shell, args: [...(options[basename(shell).toLowerCase()] ?? []), "-c", command] };
}

/** Variables set by Pivot's launcher for its own child process: not the user's. */
const LAUNCHER_VARIABLES = ["PIVOT_CHILD", "PIVOT_LAUNCH"];

/** The environment a command runs with: the project's (this process's), plus the stage's name. */
function environment(run: CommandRun): Record<string, string> {
  const env = Deno.env.toObject();
  for (const name of LAUNCHER_VARIABLES) delete env[name];
  env.PIVOT_STAGE = run.stage;
  env.PIVOT_PROJECT_ROOT = run.projectRoot;
  // What `dvc repro` sets, for scripts written for it.
  env.DVC_STAGE = run.stage;
  env.DVC_ROOT = run.projectRoot;
  return env;
}

/**
 * Run `run.commands` in turn; `log` receives each line of output, `signal`
 * cancels. Resolves when the last command ended, one failed, or a cancelled
 * one has exited (or was killed).
 *
 * Needs `--allow-run` (the shell) and `--allow-env`.
 */
export async function runCommands(
  run: CommandRun,
  log: LogSink,
  signal: AbortSignal | undefined,
): Promise<CommandOutcome> {
  for (const command of run.commands) {
    if (signal?.aborted) return { status: "cancelled" };
    const outcome = await runOne(command, run, log, signal);
    if (outcome.status !== "done") return outcome;
  }
  return { status: "done" };
}

async function runOne(
  command: string,
  run: CommandRun,
  log: LogSink,
  signal: AbortSignal | undefined,
): Promise<CommandOutcome> {
  const { shell, args } = shellFor(command);
  const guarded = guardedCommand(shell, args);
  let child: Deno.ChildProcess;
  try {
    // The guard execs the shell: a missing one is found here, as without it.
    if (guarded.guarded && shell.startsWith("/")) Deno.statSync(shell);
    child = new Deno.Command(guarded.program, {
      args: guarded.args,
      cwd: run.cwd,
      env: environment(run),
      clearEnv: true,
      // The guard's pipe; the command itself reads /dev/null.
      stdin: guarded.guarded ? "piped" : "null",
      stdout: "piped",
      stderr: "piped",
      // A session of its own: its process group can be signalled as a whole.
      detached: true,
    }).spawn();
  } catch (error) {
    const why = error instanceof Deno.errors.NotFound
      ? `the shell ${shell} was not found (set SHELL)`
      : error instanceof Error
      ? error.message
      : String(error);
    return { status: "failed", command, code: undefined, signal: undefined, error: why };
  }
  let cancelled = false;
  const timers: ReturnType<typeof setTimeout>[] = [];
  const kill = (name: Deno.Signal) => {
    try {
      Deno.kill(-child.pid, name); // the whole group
    } catch {
      // already gone
    }
  };
  const onAbort = () => {
    cancelled = true;
    kill("SIGINT");
    timers.push(setTimeout(() => kill("SIGTERM"), run.graceMs));
    timers.push(setTimeout(() => kill("SIGKILL"), 2 * run.graceMs));
  };
  signal?.addEventListener("abort", onAbort, { once: true });
  if (signal?.aborted) onAbort();
  const out = pipeLines(child.stdout, (line) => log("stdout", line));
  const err = pipeLines(child.stderr, (line) => log("stderr", line));
  try {
    const status = await child.status;
    // A process the command left in the background may hold the pipes open:
    // wait for them a moment, then stop reading.
    let timer: ReturnType<typeof setTimeout> | undefined;
    await Promise.race([
      Promise.all([out.done, err.done]),
      new Promise((resolve) => timer = setTimeout(resolve, PIPE_GRACE_MS)),
    ]);
    clearTimeout(timer);
    out.stop();
    err.stop();
    if (cancelled) {
      // Whatever the command left running in its group goes too.
      kill("SIGKILL");
      return { status: "cancelled" };
    }
    if (status.success) return { status: "done" };
    return {
      status: "failed",
      command,
      code: status.signal === null ? status.code : undefined,
      signal: status.signal ?? undefined,
      error: undefined,
    };
  } finally {
    if (guarded.guarded) await releaseGuard(child.stdin);
    signal?.removeEventListener("abort", onAbort);
    timers.forEach(clearTimeout);
  }
}

/** How long output is still read after the command's shell exited (ms). */
const PIPE_GRACE_MS = 1_000;

/**
 * Call `line` for each line of `stream` (and for a last line without a
 * newline) until it ends or `stop` is called.
 */
function pipeLines(
  stream: ReadableStream<Uint8Array>,
  line: (text: string) => void,
): { done: Promise<void>; stop: () => void } {
  const reader = stream.getReader();
  const decoder = new TextDecoder();
  let pending = "";
  const flush = (final: boolean) => {
    let newline = pending.indexOf("\n");
    while (newline >= 0) {
      line(pending.slice(0, newline).replace(/\r$/, ""));
      pending = pending.slice(newline + 1);
      newline = pending.indexOf("\n");
    }
    if (final && pending !== "") {
      line(pending.replace(/\r$/, ""));
      pending = "";
    }
  };
  const done = (async () => {
    try {
      while (true) {
        const { value, done } = await reader.read();
        if (done) break;
        pending += decoder.decode(value, { stream: true });
        flush(false);
      }
    } catch {
      // stopped
    }
    pending += decoder.decode();
    flush(true);
  })();
  return { done, stop: () => void reader.cancel().catch(() => {}) };
}
