/**
 * Counting a transfer as it goes: objects done, bytes moved, the rate over
 * the last seconds. The command gives a `status` callback (the CLI's
 * transient status line, drawn only on a terminal) and prints
 * {@link TransferProgress.finalLine} at the end, which is all a pipe sees.
 *
 * @module
 */

/** What a push or fetch did, in the shape of `push|pull|fetch --json` (SPEC §6). */
export interface TransferSummary {
  /** Objects transferred. */
  transferred: number;
  /** Objects already on the other side. */
  skipped: number;
  /** Objects that could not be transferred. */
  failed: number;
  /** Bytes transferred. */
  bytes: number;
}

/** Options of {@link TransferProgress}. */
export interface ProgressOptions {
  /** The verb shown: "push", "fetch". */
  readonly verb: string;
  /** Called with a one-line status, at most every `intervalMs`. */
  readonly status?: (line: string) => void;
  /** Minimum time between two status lines, ms (default 100). */
  readonly intervalMs?: number;
  /** Clock, ms (tests). */
  readonly now?: () => number;
}

const RATE_WINDOW_MS = 3_000;

/** Live counters of one transfer. */
export class TransferProgress {
  /** The counts so far. */
  readonly summary: TransferSummary = { transferred: 0, skipped: 0, failed: 0, bytes: 0 };
  readonly #options: ProgressOptions;
  readonly #now: () => number;
  readonly #started: number;
  #totalObjects = 0;
  #totalBytes = 0;
  #lastDrawn = -Infinity;
  #samples: [number, number][] = [];
  #moved = 0;

  /** A progress counter; the clock starts now. */
  constructor(options: ProgressOptions) {
    this.#options = options;
    this.#now = options.now ?? (() => performance.now());
    this.#started = this.#now();
  }

  /** Add objects (and their bytes) to what is to be done. */
  plan(objects: number, bytes: number): void {
    this.#totalObjects += objects;
    this.#totalBytes += bytes;
    this.#draw();
  }

  /** Bytes moved (negative to take back those of a failed attempt). */
  bytes(n: number): void {
    this.#moved += n;
    this.#draw();
  }

  /** One object finished. */
  done(outcome: "transferred" | "skipped" | "failed", bytes = 0): void {
    this.summary[outcome]++;
    if (outcome === "transferred") this.summary.bytes += bytes;
    this.#draw();
  }

  /** The status line now: `push: 120/2,000 objects, 4.1/78.0 MiB, 12.3 MiB/s`. */
  line(): string {
    const { transferred, skipped, failed } = this.summary;
    const count = transferred + skipped + failed;
    const parts = [
      `${this.#options.verb}: ${thousands(count)}/${thousands(this.#totalObjects)} objects`,
      `${mib(this.#moved).replace(" MiB", "")}/${mib(this.#totalBytes)}`,
      `${mib(this.#rate())}/s`,
    ];
    if (failed > 0) parts.push(`${thousands(failed)} failed`);
    return parts.join(", ");
  }

  /** The last line: `push: 2,000 transferred, 0 skipped, 0 failed (7.8 MiB in 3.2 s, 2.4 MiB/s)`. */
  finalLine(): string {
    const { transferred, skipped, failed, bytes } = this.summary;
    const seconds = (this.#now() - this.#started) / 1000;
    const rate = seconds > 0 ? bytes / seconds : 0;
    return `${this.#options.verb}: ${thousands(transferred)} transferred, ${
      thousands(skipped)
    } skipped, ` +
      `${thousands(failed)} failed (${size(bytes)} in ${seconds.toFixed(1)} s, ${size(rate)}/s)`;
  }

  #rate(): number {
    const now = this.#now();
    this.#samples.push([now, this.#moved]);
    while (this.#samples.length > 2 && now - this.#samples[0]![0] > RATE_WINDOW_MS) {
      this.#samples.shift();
    }
    const [t0, b0] = this.#samples[0]!;
    return now - t0 > 0 ? (this.#moved - b0) / ((now - t0) / 1000) : 0;
  }

  #draw(): void {
    const status = this.#options.status;
    if (!status) return;
    const now = this.#now();
    if (now - this.#lastDrawn < (this.#options.intervalMs ?? 100)) return;
    this.#lastDrawn = now;
    status(this.line());
  }
}

/**
 * `n` with thousands separators: `2,000`. Not `toLocaleString`, whose first
 * call loads ICU's number formats (~30 ms, on every transfer).
 */
function thousands(n: number): string {
  return String(n).replace(/\B(?=(\d{3})+(?!\d))/g, ",");
}

/** `bytes` in the largest unit that keeps it at least 1: `512 B`, `4.0 KiB`, `7.8 MiB`, `1.2 GiB`. */
function size(bytes: number): string {
  if (bytes < 1024) return `${Math.round(bytes)} B`;
  const units = ["KiB", "MiB", "GiB", "TiB"];
  let value = bytes / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value < 10 ? value.toFixed(1) : value.toFixed(0)} ${units[unit]}`;
}

function mib(bytes: number): string {
  const value = bytes / (1 << 20);
  return `${value < 10 ? value.toFixed(2) : value.toFixed(1)} MiB`;
}
