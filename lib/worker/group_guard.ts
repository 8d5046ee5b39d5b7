/**
 * Stopping a command stage's processes when the Pivot process that started
 * them dies without a chance to cancel them (SIGKILL, an OOM kill, a crash).
 *
 * A command runs in a session of its own (`lib/worker/command.ts`), so that a
 * cancel reaches its whole process group; but that also means nothing stops
 * it when Pivot dies: it is re-parented and runs on, unseen. Deno offers no
 * `prctl(PR_SET_PDEATHSIG)` (and that would stop the shell only, not what it
 * started). So the command's shell is started through a small `/bin/sh`
 * wrapper whose standard input is a pipe from Pivot. The wrapper leaves a
 * watcher in the command's process group, blocked reading that pipe, and
 * `exec`s the shell in its own place (same pid, same exit status, standard
 * input `/dev/null` as before). When the command ends, Pivot writes `done`
 * and the watcher exits. When Pivot dies, however it dies, the kernel closes
 * the pipe: the watcher reads end-of-file without `done` and sends SIGTERM to
 * the group, then SIGKILL after a grace period. No polling, no registration
 * that a SIGKILL could interrupt: the pipe exists from the moment the
 * command is spawned, and end-of-file is a sign of death that cannot be
 * missed.
 *
 * @module
 */

/**
 * The wrapper, a POSIX shell script: `$1` is the grace period in seconds,
 * the rest the program to run and its arguments. An asynchronous list ignores
 * SIGINT in a non-interactive shell, so a cancel's SIGINT to the group leaves
 * the watcher be; its SIGTERM and SIGKILL stop it. Its standard input is
 * `/dev/null` unless redirected: it reads the pipe as fd 3.
 */
const WRAPPER = `grace=$1
shift
exec 3<&0
{
  IFS= read -r line <&3
  [ "$line" = done ] && exit 0
  trap '' TERM
  kill -s TERM 0
  sleep "$grace"
  kill -s KILL 0
} >/dev/null 2>&1 &
exec "$@" </dev/null 3<&-
`;

/** The shell the wrapper runs in. */
const SH = "/bin/sh";

/** How long a command gets between SIGTERM and SIGKILL once Pivot is gone (s). */
const GRACE_SECONDS = 3;

/**
 * The program and arguments that run `program args` guarded: spawn them with
 * `stdin: "piped"` and `detached: true` (a process group of its own), and
 * call {@link releaseGuard} with the child's stdin when it has ended. Returns
 * `program args` unchanged where there is no `/bin/sh`.
 *
 * @example
 * ```ts ignore
 * const run = guardedCommand("/bin/bash", ["-c", "make all"]);
 * const child = new Deno.Command(run.program, { args: run.args, stdin: "piped", detached: true }).spawn();
 * await child.status;
 * await releaseGuard(child.stdin);
 * ```
 */
export function guardedCommand(
  program: string,
  args: readonly string[],
): { program: string; args: string[]; guarded: boolean } {
  if (!hasShell()) return { program, args: [...args], guarded: false };
  return {
    program: SH,
    args: ["-c", WRAPPER, "pivot-guard", String(GRACE_SECONDS), program, ...args],
    guarded: true,
  };
}

/**
 * Tell the guard of a command that has ended to exit without stopping
 * anything (a process the command left in the background runs on, as it
 * would without a guard). Never throws.
 */
export async function releaseGuard(stdin: WritableStream<Uint8Array>): Promise<void> {
  try {
    const writer = stdin.getWriter();
    await writer.write(new TextEncoder().encode("done\n"));
    await writer.close();
  } catch {
    // The guard is gone already (the group was killed).
  }
}

let shellFound: boolean | undefined;

function hasShell(): boolean {
  if (shellFound === undefined) {
    try {
      shellFound = Deno.statSync(SH).isFile;
    } catch {
      shellFound = false;
    }
  }
  return shellFound;
}
