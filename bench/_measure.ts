/**
 * Timing of whole processes: wall time from `performance.now()` around the
 * process, peak memory from GNU time's `%M` (the kernel's `ru_maxrss`: the
 * largest single process of the tree, in KiB), and medians over repetitions.
 *
 * @module
 */

/** One finished run of a command. */
export interface Run {
  /** Wall time in milliseconds, spawn to exit. */
  wallMs: number;
  /** Peak resident set size in KiB, when GNU time is installed. */
  maxRssKib: number | undefined;
  /** Exit code. */
  code: number;
  /** Standard output, decoded. */
  stdout: string;
  /** Standard error, decoded. */
  stderr: string;
}

/** Options of {@link timeCommand}. */
export interface TimeOptions {
  /** Working directory. */
  cwd: string;
  /** Extra environment variables. */
  env?: Record<string, string>;
  /** Keep the command's standard output (default: discarded, for `cat`). */
  captureStdout?: boolean;
}

/** GNU time, which reports peak memory; absent until `apt-get install time`. */
export const GNU_TIME = "/usr/bin/time";

let gnuTime: boolean | undefined;

/** Whether GNU time is installed (checked once). */
export async function hasGnuTime(): Promise<boolean> {
  gnuTime ??= await Deno.stat(GNU_TIME).then((s) => s.isFile, () => false);
  return gnuTime;
}

/**
 * Run `argv` once and measure it. Wall time includes starting GNU time
 * itself (about a millisecond; the report states the floor measured with
 * `true`). Needs `--allow-run` and `--allow-read`/`--allow-write` for a
 * temporary file.
 */
export async function timeCommand(argv: string[], options: TimeOptions): Promise<Run> {
  const withTime = await hasGnuTime();
  const rssFile = withTime ? await Deno.makeTempFile({ prefix: "pivot-bench-rss-" }) : undefined;
  const [program, ...args] = rssFile ? [GNU_TIME, "-f", "%M", "-o", rssFile, ...argv] : argv;
  const command = new Deno.Command(program, {
    args,
    cwd: options.cwd,
    // Plain error messages for the report.
    env: { NO_COLOR: "1", ...options.env },
    stdin: "null",
    stdout: options.captureStdout === false ? "null" : "piped",
    stderr: "piped",
  });
  const start = performance.now();
  const output = await command.output();
  const wallMs = performance.now() - start;
  let maxRssKib: number | undefined;
  if (rssFile) {
    // GNU time writes "Command exited with non-zero status N" before the figure.
    const lines = (await Deno.readTextFile(rssFile)).trim().split("\n");
    const value = Number(lines.at(-1));
    maxRssKib = Number.isFinite(value) ? value : undefined;
    await Deno.remove(rssFile);
  }
  const decoder = new TextDecoder();
  return {
    wallMs,
    maxRssKib,
    code: output.code,
    stdout: options.captureStdout === false ? "" : decoder.decode(output.stdout),
    stderr: decoder.decode(output.stderr),
  };
}

/** Median, minimum and maximum of some samples. */
export interface Stats {
  /** Median (mean of the two middle samples for an even count). */
  median: number;
  /** Smallest sample. */
  min: number;
  /** Largest sample. */
  max: number;
  /** Number of samples. */
  n: number;
}

/** The {@link Stats} of `samples`; `undefined` when there are none. */
export function stats(samples: readonly number[]): Stats | undefined {
  if (samples.length === 0) return undefined;
  const sorted = [...samples].sort((a, b) => a - b);
  const mid = sorted.length >> 1;
  const median = sorted.length % 2 ? sorted[mid] : (sorted[mid - 1] + sorted[mid]) / 2;
  return { median, min: sorted[0], max: sorted.at(-1)!, n: sorted.length };
}

/** Why a measurement has no figure. */
export type Missing = { pending: string } | { failed: string } | { skipped: string };

/** A measured figure, or why there is none. */
export type Measurement =
  | {
    /** Wall time, ms. */
    wall: Stats;
    /** Peak RSS, KiB (undefined without GNU time). */
    rss: Stats | undefined;
    /** Free-form remark shown beside the figure (for example stages ran). */
    note?: string;
  }
  | Missing;

/** True when `m` holds figures. */
export function measured(m: Measurement | undefined): m is Extract<Measurement, { wall: Stats }> {
  return m !== undefined && "wall" in m;
}

/** Options of {@link repeat}. */
export interface RepeatOptions {
  /** Counted repetitions. */
  reps: number;
  /** Uncounted runs first (default 0). */
  warmup?: number;
  /** Untimed work before every run (warm-ups included): reset a project, edit a file. */
  before?: (rep: number) => Promise<void>;
  /** Checks a run; returns an error message to fail the measurement. */
  check?: (run: Run, rep: number) => Promise<string | undefined> | string | undefined;
  /** Turns the counted runs into a note (for example "ran 176/176"). */
  note?: (runs: Run[]) => string | undefined;
  /** Progress label, printed to stderr. */
  label: string;
}

/**
 * Run a command `warmup + reps` times and collect its figures. A non-zero
 * exit or a failed check ends the measurement as `failed`, with the first
 * line that explains it.
 */
export async function repeat(
  argv: string[],
  time: TimeOptions,
  options: RepeatOptions,
): Promise<Measurement> {
  const runs: Run[] = [];
  const warmup = options.warmup ?? 0;
  for (let rep = 0; rep < warmup + options.reps; rep++) {
    await options.before?.(rep);
    const run = await timeCommand(argv, time);
    const counted = rep >= warmup;
    progress(
      `${options.label}${counted ? "" : " (warm-up)"}: ${(run.wallMs / 1000).toFixed(3)} s` +
        (run.code === 0 ? "" : ` (exit ${run.code})`),
    );
    if (run.code !== 0) {
      return { failed: `exit ${run.code}: ${summarizeFailure(run.stderr, run.stdout)}` };
    }
    const problem = await options.check?.(run, rep);
    if (problem) return { failed: problem };
    if (counted) runs.push(run);
  }
  const rss = runs.map((r) => r.maxRssKib).filter((v): v is number => v !== undefined);
  return {
    wall: stats(runs.map((r) => r.wallMs))!,
    rss: stats(rss),
    note: options.note?.(runs),
  };
}

/** The line of a failed command's output that explains it: the first mentioning an error, else the last. */
export function summarizeFailure(...texts: string[]): string {
  for (const text of texts) {
    // deno-lint-ignore no-control-regex
    const lines = text.replace(/\x1b\[[0-9;]*m/g, "").split("\n").map((l) => l.trim()).filter((l) =>
      l !== ""
    );
    const error = lines.find((l) => /error|not found|failed/i.test(l)) ?? lines.at(-1);
    if (error) return error.length > 200 ? error.slice(0, 200) + "…" : error;
  }
  return "no output";
}

/** A progress line on stderr. */
export function progress(message: string): void {
  console.error(`[bench] ${message}`);
}
