/**
 * Where the CLI writes: results to stdout, diagnostics to stderr, and on a
 * terminal a transient status line and colours. In a pipe everything stays
 * plain text with no escape codes (SPEC §6).
 *
 * @module
 */

const encoder = new TextEncoder();

/**
 * Write all of `text` to `target`. False when the reader has gone (a closed
 * pipe: `pivot status | head -1`), which is not an error: the writer just
 * stops, as Unix tools do.
 */
function writeAll(target: { writeSync(data: Uint8Array): number }, text: string): boolean {
  let data = encoder.encode(text);
  try {
    while (data.length > 0) data = data.subarray(target.writeSync(data));
    return true;
  } catch (error) {
    if (error instanceof Deno.errors.BrokenPipe) return false;
    throw error;
  }
}

/** Colour names used by the CLI. */
export type Colour = "red" | "green" | "yellow" | "cyan" | "dim" | "bold";

const CODES: Record<Colour, [number, number]> = {
  red: [31, 39],
  green: [32, 39],
  yellow: [33, 39],
  cyan: [36, 39],
  dim: [2, 22],
  bold: [1, 22],
};

/** Options of {@link Output}. */
export interface OutputOptions {
  /** `-v`: details, stack traces. */
  readonly verbose: boolean;
  /** `-q`: errors only. */
  readonly quiet: boolean;
}

/** The CLI's writer. */
export class Output {
  /** `-v` given. */
  readonly verbose: boolean;
  /** `-q` given. */
  readonly quiet: boolean;
  /** Stdout is a terminal (and colour is not disabled). */
  readonly stdoutIsTerminal: boolean;
  /** Stderr is a terminal: a status line may be drawn there. */
  readonly stderrIsTerminal: boolean;
  #status = "";
  #stdoutClosed = false;
  #stderrClosed = false;
  readonly #onStdoutClosed: (() => void)[] = [];
  /** Writes held back by {@link Output.hold}, in order, until released or discarded. */
  #held: { readonly toStdout: boolean; readonly text: string }[] | undefined;

  /** An output with `options`. */
  constructor(options: OutputOptions) {
    this.verbose = options.verbose;
    this.quiet = options.quiet;
    const colour = Deno.env.get("NO_COLOR") === undefined;
    this.stdoutIsTerminal = colour && Deno.stdout.isTerminal();
    this.stderrIsTerminal = colour && Deno.stderr.isTerminal();
  }

  /** `text` in `colour` when stdout is a terminal. */
  paint(colour: Colour, text: string, stream: "stdout" | "stderr" = "stdout"): string {
    const on = stream === "stdout" ? this.stdoutIsTerminal : this.stderrIsTerminal;
    if (!on) return text;
    const [start, end] = CODES[colour];
    return `\x1b[${start}m${text}\x1b[${end}m`;
  }

  /**
   * True once stdout's reader has gone (`pivot list | head -1`): nothing more
   * is written there, and the command ends as a Unix tool would (exit 141,
   * see `main.ts`).
   */
  get stdoutClosed(): boolean {
    return this.#stdoutClosed;
  }

  /** Call `callback` once, when stdout's reader goes (never if it stays). */
  onStdoutClosed(callback: () => void): void {
    this.#onStdoutClosed.push(callback);
  }

  /**
   * Hold every write back, in order, until {@link Output.release} (which
   * writes them) or {@link Output.discard} (which drops them): for a command
   * the launcher attempts in its own process (lib/launcher_attempt.ts),
   * whose output must not appear when its child answers instead.
   */
  hold(): void {
    this.#held ??= [];
  }

  /** Write what was held back, and write directly from now on. */
  release(): void {
    const held = this.#held;
    this.#held = undefined;
    for (const { toStdout, text } of held ?? []) {
      if (toStdout) this.#writeStdout(text);
      else this.#writeStderr(text);
    }
  }

  /** Drop what was held back, and write directly from now on. */
  discard(): void {
    this.#held = undefined;
  }

  /** Write a line to stdout. */
  line(text = ""): void {
    this.raw(text + "\n");
  }

  /** Write text to stdout as is. */
  raw(text: string): void {
    if (this.#stdoutClosed) return;
    this.#clearStatus();
    this.#writeStdout(text);
    this.#redrawStatus();
  }

  #writeStdout(text: string): void {
    if (this.#held) {
      this.#held.push({ toStdout: true, text });
    } else if (!this.#stdoutClosed && !writeAll(Deno.stdout, text)) {
      this.#stdoutClosed = true;
      for (const callback of this.#onStdoutClosed.splice(0)) callback();
    }
  }

  /** Write a line to stderr. */
  error(text: string): void {
    this.#clearStatus();
    this.#writeStderr(text + "\n");
    this.#redrawStatus();
  }

  #writeStderr(text: string): void {
    if (this.#held) this.#held.push({ toStdout: false, text });
    else if (!this.#stderrClosed && !writeAll(Deno.stderr, text)) this.#stderrClosed = true;
  }

  /** Set the transient status line (drawn only when stderr is a terminal). */
  status(text: string): void {
    if (!this.stderrIsTerminal || this.quiet) return;
    this.#clearStatus();
    let width = 80;
    try {
      width = Deno.consoleSize().columns;
    } catch {
      // not a terminal after all
    }
    this.#status = text.length >= width ? text.slice(0, width - 1) : text;
    this.#redrawStatus();
  }

  /** Remove the status line. */
  clearStatus(): void {
    this.#clearStatus();
    this.#status = "";
  }

  #clearStatus(): void {
    if (this.#status) this.#writeStderr("\r\x1b[2K");
  }

  #redrawStatus(): void {
    if (this.#status) this.#writeStderr(this.#status);
  }
}
