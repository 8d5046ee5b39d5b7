/**
 * Running stages from the command line (`repro`, `run`, `repro --watch`): a
 * driver with its worker pool, the right sink, and Ctrl-C wired to
 * cancellation.
 *
 * @module
 */

import { listedPaths } from "../paths.ts";
import { Driver } from "../engine/driver.ts";
import type { SummaryEvent } from "../engine/events.ts";
import { stageKey } from "../engine/context.ts";
import { readLock } from "../storage/lock_file.ts";
import { verifiedIndexOf } from "../engine/verified.ts";
import { mark } from "../trace.ts";
import type { WorkerPool } from "../worker/pool.ts";
import { stagePool } from "./stage_pool.ts";
import type { CommandEnv } from "./command.ts";
import type { Session } from "./session.ts";
import { consoleSink, jsonSink } from "./sinks.ts";
import { selectStages } from "./targets.ts";
import { type HistoryRecorder, recordWaves } from "./history_sink.ts";

/** Flags of a run from the command line. */
export interface RunFlags {
  /** Go on after a failure. */
  readonly keepGoing: boolean;
  /** Parallelism. */
  readonly jobs: number;
  /** Don't write locks, cache or state. */
  readonly noCommit: boolean;
  /** JSON Lines output. */
  readonly json: boolean;
}

/**
 * A worker pool for a session's project: the one the session started during
 * a cold fingerprint (its first worker already starting), else a new one.
 */
function poolFor(session: Session): WorkerPool {
  return session.takeEarlyPool() ?? stagePool(session.context.project, () => session.code());
}

/** The default parallelism: the config's, else the number of cores. */
export function defaultJobs(session: Session): number {
  return session.jobs ?? navigator.hardwareConcurrency ?? 2;
}

/**
 * A driver over `session` (one per command). With `runOnChange: false`
 * (`pivot ui`), file changes are reported but run nothing.
 */
export function driverFor(
  session: Session,
  flags: RunFlags,
  env: CommandEnv,
  runOnChange = true,
  closesStateAfter = false,
): Driver {
  return new Driver({
    source: session,
    makePool: () => poolFor(session),
    jobs: flags.jobs,
    keepGoing: flags.keepGoing,
    noCommit: flags.noCommit,
    runOnChange,
    closesStateAfter,
    select: (context, names) => selectStages(context.graph, names),
    // A message may hold several lines (one per type error with --check).
    onError: (message) => message.split("\n").forEach((line) => env.output.error(`error: ${line}`)),
  });
}

/**
 * Record the waves of `driver` in the run history (not with `--no-commit`,
 * which writes no state).
 */
export function historyFor(
  driver: Driver,
  session: Session,
  flags: RunFlags,
  env: CommandEnv,
): HistoryRecorder {
  if (flags.noCommit) return { done: () => Promise.resolve() };
  const command = ["pivot", ...(env.args ?? [])].join(" ");
  return recordWaves(
    driver,
    session.context.state,
    command,
    session.historyLimit,
    (message) => env.output.error(`warning: ${message}`),
  );
}

/**
 * Run once: push one run request and a stop through the driver, as every
 * run does (watch mode pushes more). Resolves with the exit code.
 */
export async function runOnce(
  session: Session,
  request: { readonly stages: readonly string[]; readonly force: boolean; readonly exact: boolean },
  flags: RunFlags,
  env: CommandEnv,
): Promise<number> {
  // A hand-edited or truncated lock file is an error in the project (exit 2),
  // found before anything runs. A stage the verified index shows up to date
  // has the lock file that parsed when it was verified (and the wave starting
  // next takes this answer); other parsed locks are cached by stamp.
  const { context } = session;
  const index = await verifiedIndexOf(context.state);
  mark("repro: verified index read");
  const verified = index.peekRecent(context) ?? index.check(context, context.graph.order, true);
  mark(`repro: ${verified.size} of ${context.graph.order.length} stages verified`);
  // After a first missing lock file (a first run has none), the rest are
  // found by listing their directories, not by a failing stat each.
  let listed: Set<string> | undefined;
  for (const stage of context.graph.order) {
    if (verified.has(stage.name) || (listed !== undefined && !listed.has(stage.lockFile))) continue;
    const lock = await readLock(
      stage.lockFile,
      stageKey(context, stage),
      context.state,
      context.cache,
    );
    listed ??= lock === undefined
      ? listedPaths(context.graph.order.map((s) => s.lockFile))
      : undefined;
  }
  mark("repro: lock files checked");
  // The session is closed once this returns: its close commits the last writes.
  const driver = driverFor(session, flags, env, true, true);
  driver.subscribe(flags.json ? jsonSink(env.output) : consoleSink(env.output));
  const history = historyFor(driver, session, flags, env);
  // What a record of this no-op would report (lib/cli/noop_record.ts).
  const settled = settledWave(driver);
  const cancel = () => driver.push({ type: "cancel" });
  env.signal.addEventListener("abort", cancel, { once: true });
  // A Ctrl-C during start-up (before the listener) runs nothing.
  if (!env.signal.aborted) driver.push({ type: "run", ...request });
  driver.stop();
  try {
    const [summary] = await driver.run().finally(() => session.closeWith(driver.closed));
    mark("repro: waves done");
    await history.done();
    mark("repro: history recorded");
    // In the graph's order, which `status` shows too.
    const names = settled();
    const { order } = context.graph;
    if (names?.length === order.length && names.every((name, i) => name === order[i].name)) {
      await session.recordNoop(names);
    }
    return summary ? exitCodeOf(summary, env.signal) : env.signal.aborted ? 130 : 0;
  } finally {
    env.signal.removeEventListener("abort", cancel);
    // --no-commit writes no state either: not even the caches this run filled.
    if (flags.noCommit) session.context.state.discardPending();
  }
}

/**
 * The names `driver`'s one wave reported, once it ended, when it was a
 * settled wave: nothing but one `wave-start`, a `stage` event a stage, each
 * skipped as up to date in no time, and a summary saying so. Else undefined.
 */
function settledWave(driver: Driver): () => string[] | undefined {
  const names: string[] = [];
  let waves = 0;
  let summaries = 0;
  let other = false;
  driver.subscribe((event) => {
    if (event.type === "wave-start") waves++;
    else if (event.type === "summary") {
      summaries++;
      if (event.skipped !== names.length || event.ran + event.restored > 0) other = true;
      if (event.failed + event.blocked + event.cancelled > 0) other = true;
    } else if (
      event.type === "stage" && event.status === "skipped" && event.reason === "up to date" &&
      event.duration_ms === 0 && event.error === undefined && summaries === 0
    ) names.push(event.stage);
    else other = true;
  });
  return () => waves === 1 && summaries === 1 && !other ? names : undefined;
}

/** 130 when cancelled, 1 when a stage failed, else 0. */
function exitCodeOf(summary: SummaryEvent, signal: AbortSignal): number {
  if (signal.aborted || summary.cancelled > 0) return 130;
  return summary.failed > 0 ? 1 : 0;
}
