/**
 * Errors a user sees. A {@link PivotError} is a mistake in the user's input
 * (usage, config, pipeline): the CLI prints its one-line message, without a
 * stack trace unless `-v`, and exits with code 2.
 *
 * @module
 */

/** A user-facing error: one line saying what is wrong, where, and how to fix it. */
export class PivotError extends Error {
  override name = "PivotError";
  /** Process exit code for this error. */
  readonly exitCode: number;

  /** `message` is the whole line shown to the user. */
  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 2;
  }
}

/**
 * A stage's outs break its declaration: one missing, of the wrong kind, or a
 * file written that is not an out. The stage fails with this message.
 */
export class OutputError extends Error {
  override name = "OutputError";
}

/** The message of any thrown value, for one-line reports. */
export function messageOf(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
