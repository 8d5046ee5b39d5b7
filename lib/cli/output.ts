/**
 * Where the CLI writes: results to stdout, diagnostics to stderr, and on a
 * terminal a transient status line and colours. In a pipe everything stays
 * plain text with no escape codes (SPEC §6).
 *
 * @module
 */

const encoder = new TextEncoder();

function writeAll(target: { writeSync(data: Uint8Array): number }, text: string): void {
  let data = encoder.encode(text);
  while (data.length > 0) data = data.subarray(target.writeSync(data));
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

  /** Write a line to stdout. */
  line(text = ""): void {
    this.#clearStatus();
    writeAll(Deno.stdout, text + "\n");
    this.#redrawStatus();
  }

  /** Write text to stdout as is. */
  raw(text: string): void {
    this.#clearStatus();
    writeAll(Deno.stdout, text);
    this.#redrawStatus();
  }

  /** Write a line to stderr. */
  error(text: string): void {
    this.#clearStatus();
    writeAll(Deno.stderr, text + "\n");
    this.#redrawStatus();
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
    if (this.#status) writeAll(Deno.stderr, "\r\x1b[2K");
  }

  #redrawStatus(): void {
    if (this.#status) writeAll(Deno.stderr, this.#status);
  }
}
