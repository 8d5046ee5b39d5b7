/**
 * Exit codes after a signal, as a Unix tool's: 128 + the signal's number
 * (130 after SIGINT, 143 after SIGTERM), so that a script or a supervisor
 * can tell a Ctrl-C from a `kill`.
 *
 * @module
 */

const NUMBERS: Readonly<Record<string, number>> = {
  SIGHUP: 1,
  SIGINT: 2,
  SIGQUIT: 3,
  SIGKILL: 9,
  SIGPIPE: 13,
  SIGTERM: 15,
};

/**
 * The exit code of a process ended by `signal`: 128 + its number (129 for
 * a signal without a known number).
 *
 * @example
 * ```ts
 * import { signalExitCode } from "./signal_exit.ts";
 * signalExitCode("SIGTERM"); // 143
 * ```
 */
export function signalExitCode(signal: Deno.Signal): number {
  return 128 + (NUMBERS[signal] ?? 1);
}

/**
 * The exit code of a command that returned `code` after it was cancelled by
 * `signal`: commands say "cancelled" with 130 (SIGINT's code), which becomes
 * the code of the signal that really cancelled it. Other codes (a failure
 * of its own, a usage error) are kept.
 *
 * @example
 * ```ts
 * import { cancelledExitCode } from "./signal_exit.ts";
 * cancelledExitCode(130, "SIGTERM"); // 143
 * cancelledExitCode(1, "SIGTERM"); // 1
 * ```
 */
export function cancelledExitCode(code: number, signal: Deno.Signal | undefined): number {
  return code === CANCELLED && signal !== undefined ? signalExitCode(signal) : code;
}

/** What a command returns when it was cancelled (SIGINT's exit code). */
const CANCELLED = 130;
