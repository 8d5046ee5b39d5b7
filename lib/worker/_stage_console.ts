/**
 * A stage's console output as whole lines. The CLI prefixes each line a
 * stage prints with `[stage]`; a stage prints in two ways:
 *
 * - `console.log` and friends: one call is one line, which may hold line
 *   breaks of its own (each becomes a line);
 * - raw writes (`Deno.stdout.write`, `process.stdout.write`, progress bars of
 *   npm packages): any text, often without a line break. In a worker these
 *   would reach the terminal directly, with no prefix and interleaved with
 *   other stages' output. They are captured here too, and kept until their
 *   line ends (or the run does), so that nothing prints without its prefix.
 *
 * @module
 */

/** Receives one complete line (without its line break). */
export type LineSink = (stream: "stdout" | "stderr", line: string) => void;

/** Assembles lines from console calls and raw writes, per stream. */
export class StageConsole {
  readonly #emit: LineSink;
  readonly #partial = { stdout: "", stderr: "" };

  /** Lines go to `emit`. */
  constructor(emit: LineSink) {
    this.#emit = emit;
  }

  /** A `console.*` call: `text` ends a line (after any raw text before it). */
  line(stream: "stdout" | "stderr", text: string): void {
    this.write(stream, text + "\n");
  }

  /** Raw text: complete lines are passed on, the rest is kept. */
  write(stream: "stdout" | "stderr", text: string): void {
    const lines = (this.#partial[stream] + text).split("\n");
    this.#partial[stream] = lines.pop()!;
    for (const line of lines) this.#emit(stream, line.replace(/\r$/, ""));
  }

  /** Pass on text still waiting for its line break (a run ended). */
  flush(): void {
    for (const stream of ["stdout", "stderr"] as const) {
      const rest = this.#partial[stream];
      this.#partial[stream] = "";
      if (rest !== "") this.#emit(stream, rest);
    }
  }
}

/**
 * Send raw writes to `Deno.stdout` and `Deno.stderr` (through which
 * `node:process`'s streams write too) into `stageConsole` instead of the
 * process's file descriptors.
 */
export function captureRawWrites(stageConsole: StageConsole): void {
  for (const [file, stream] of [[Deno.stdout, "stdout"], [Deno.stderr, "stderr"]] as const) {
    // One decoder per stream: a character may be split across two writes.
    const decoder = new TextDecoder();
    const take = (data: Uint8Array) => {
      stageConsole.write(stream, decoder.decode(data, { stream: true }));
      return data.byteLength;
    };
    Object.assign(file, {
      writeSync: take,
      write: (data: Uint8Array) => Promise.resolve(take(data)),
    });
  }
}
