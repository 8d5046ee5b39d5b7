/**
 * What a stage must not do to the process it shares with the engine and the
 * other stages, made to fail at the call:
 *
 * - `Deno.exit()`, `process.exit()` (which calls `Deno.exit`) and
 *   `self.close()`: in a worker they end the worker silently, and the engine
 *   would wait for its run forever. The guard reports the exit instead (the
 *   stage fails, naming the call and the exit code) and never returns.
 * - `Deno.chdir()`: the working directory belongs to the process, so one
 *   stage's `chdir` would move every stage running at the same time, and the
 *   engine. (`process.chdir()` already throws in a worker.)
 *
 * Installed before any stage code is imported, so no stage holds the
 * originals.
 *
 * @module
 */

/** How a stage tried to end its worker. */
export interface ExitAttempt {
  /** The call, as written: `Deno.exit(3)`, `process.exit(1)`, `self.close()`. */
  readonly call: string;
  /** The exit code it asked for, if it is an exit. */
  readonly code: number | undefined;
  /** Where it was called. */
  readonly stack: string | undefined;
}

/** The message of the error `Deno.chdir` throws in a stage. */
const CHDIR_REFUSED =
  "Deno.chdir() is not allowed in a stage: the working directory is shared by every stage running at once and by Pivot; use absolute paths (ctx.outs, ctx.tmpDir, the deps' paths)";

/**
 * Replace the calls that end a worker or change the working directory.
 * `onExit` reports the attempt; it must not return (it waits until the
 * worker is stopped).
 */
export function installGuards(onExit: (attempt: ExitAttempt) => never): void {
  const scope = globalThis as unknown as { close: () => void };
  Deno.exit = function exit(code?: number): never {
    const resolved = typeof code === "number" ? code : Deno.exitCode;
    const stack = new Error().stack;
    // process.exit() ends in Deno.exit(): name what the stage wrote.
    const fromNode = /\(node:process:|ext:deno_node\//.test(stack ?? "");
    const call = `${fromNode ? "process" : "Deno"}.exit(${code ?? ""})`;
    return onExit({ call, code: resolved, stack });
  };
  scope.close = function close(): never {
    return onExit({ call: "self.close()", code: undefined, stack: new Error().stack });
  };
  Deno.chdir = function chdir(): never {
    throw new Deno.errors.NotSupported(CHDIR_REFUSED);
  };
}
