/**
 * Timing of whole processes: wall time from `performance.now()` around the
 * process, CPU time (user + system, of the process and every child it waited
 * for) and peak memory from GNU time's `%U`, `%S` and `%M` (the kernel's
 * `ru_maxrss`: the largest single process of the tree, in KiB), and medians
 * over repetitions. On a shared machine CPU time is the steadier figure: wall
 * time grows with other people's load, CPU time much less.
 *
 * @module
 */

/** One finished run of a command. */
export interface Run {
  /** Wall time in milliseconds, spawn to exit. */
  wallMs: number;
  /** Peak resident set size in KiB, when GNU time is installed. */
  maxRssKib: number | undefined;
  /** User + system CPU time in milliseconds (10 ms resolution), when GNU time is installed. */
  cpuMs: number | undefined;
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
  const [program, ...args] = rssFile ? [GNU_TIME, "-f", "%M %U %S", "-o", rssFile, ...argv] : argv;
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
  let cpuMs: number | undefined;
  if (rssFile) {
    // GNU time writes "Command exited with non-zero status N" before the figures.
    const lines = (await Deno.readTextFile(rssFile)).trim().split("\n");
    const [rss, user, system] = (lines.at(-1) ?? "").trim().split(/\s+/).map(Number);
    maxRssKib = Number.isFinite(rss) ? rss : undefined;
    cpuMs = Number.isFinite(user) && Number.isFinite(system)
      ? Math.round((user + system) * 1000)
      : undefined;
    await Deno.remove(rssFile);
  }
  const decoder = new TextDecoder();
  return {
    wallMs,
    maxRssKib,
    cpuMs,
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
    /** User + system CPU time, ms (undefined without GNU time). */
    cpu?: Stats | undefined;
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
  const [m] = await repeatAlternating([{ argv, time, ...options }], options);
  return m;
}

/** One command of {@link repeatAlternating}, with its own set-up, check and note. */
export interface Contender extends Omit<RepeatOptions, "reps" | "warmup"> {
  /** The command. */
  argv: string[];
  /** Where and how it runs. */
  time: TimeOptions;
}

/**
 * Run several commands in alternating order, `warmup + reps` rounds of one
 * run each (in rounds 0, 2, 4, … in the order given, in the other rounds
 * reversed), so that a change in the machine's load affects all of them
 * alike: the way to compare two versions of a tool on a shared machine. A
 * contender that fails drops out with `failed`; the others go on.
 */
export async function repeatAlternating(
  contenders: readonly Contender[],
  options: { reps: number; warmup?: number },
): Promise<Measurement[]> {
  const runs: Run[][] = contenders.map(() => []);
  const failed: (Missing | undefined)[] = contenders.map(() => undefined);
  const warmup = options.warmup ?? 0;
  for (let rep = 0; rep < warmup + options.reps; rep++) {
    const order = contenders.map((_, i) => i);
    if (rep % 2 === 1) order.reverse();
    for (const i of order) {
      const c = contenders[i];
      if (failed[i]) continue;
      await c.before?.(rep);
      const run = await timeCommand(c.argv, c.time);
      const counted = rep >= warmup;
      progress(
        `${c.label}${counted ? "" : " (warm-up)"}: ${(run.wallMs / 1000).toFixed(3)} s` +
          (run.cpuMs === undefined ? "" : `, CPU ${(run.cpuMs / 1000).toFixed(2)} s`) +
          (run.code === 0 ? "" : ` (exit ${run.code})`),
      );
      if (run.code !== 0) {
        failed[i] = { failed: `exit ${run.code}: ${summarizeFailure(run.stderr, run.stdout)}` };
        continue;
      }
      const problem = await c.check?.(run, rep);
      if (problem) failed[i] = { failed: problem };
      else if (counted) runs[i].push(run);
    }
  }
  return contenders.map((c, i) => failed[i] ?? { ...summarize(runs[i]), note: c.note?.(runs[i]) });
}

/** Wall time, CPU time and peak memory of some runs (at least one). */
export function summarize(runs: readonly Run[]): Extract<Measurement, { wall: Stats }> {
  const defined = (values: (number | undefined)[]) =>
    values.filter((v): v is number => v !== undefined);
  return {
    wall: stats(runs.map((r) => r.wallMs))!,
    rss: stats(defined(runs.map((r) => r.maxRssKib))),
    cpu: stats(defined(runs.map((r) => r.cpuMs))),
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
