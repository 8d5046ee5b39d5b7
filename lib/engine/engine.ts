/**
 * The engine: runs waves. A wave takes a set of stages (in topological
 * order), decides for each — once its upstream stages are done, so dep hashes
 * are real — whether to skip it, restore its outs, or execute it in a worker,
 * and reports every step as an event. Batch `repro`, `run`, watch mode and
 * RPC requests all go through {@link Engine.runWave}.
 *
 * @module
 */

import { dirname } from "../posix_path.ts";
import { messageOf, OutputError } from "../errors.ts";
import { Events } from "../events.ts";
import { isFilesSpec, type ReturnedFiles } from "../model/returned_files.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { forgetAllDirs } from "../storage/ensure_dir.ts";
import { listedPaths, statOrUndefined } from "../paths.ts";
import { mark } from "../trace.ts";
import type { HeldLock, LockHolder } from "../storage/exec_lock.ts";
import type { PlacementLease } from "../storage/artifact_hash.ts";
import type { LockOut } from "../storage/lock_file.ts";
import type { RunOutcome, StageWorker, WorkerPool } from "../worker/pool.ts";
import type { RunDirs } from "../worker/staging.ts";
import type { EngineContext } from "./context.ts";
import type { Decision, RunCacheEntry } from "./decide.ts";
import { type Verified, type VerifiedIndex, verifiedIndexOf } from "./verified.ts";
import type { EngineEvent, EventSink, StageEvent, StageStatus, SummaryEvent } from "./events.ts";
import { explainFailure } from "./failure.ts";
import { WaveSchedule } from "./schedule.ts";
import { ReportOrder } from "./report_order.ts";
import { Slots } from "./slots.ts";
import { threshold } from "../test_thresholds.ts";

/** `engine_work.ts`, once loaded: the modules a stage decided in full, run or recorded needs. */
type EngineWork = typeof import("./engine_work.ts");
let work: EngineWork | undefined;
let loadingWork: Promise<EngineWork> | undefined;

/**
 * Loads `engine_work.ts` (once per process) the first time a wave needs a
 * stage decided in full: a wave whose every stage is verified never does.
 * Walks remembered before it was loaded belong to an earlier wave.
 */
async function engineWork(): Promise<EngineWork> {
  if (work !== undefined) return work;
  loadingWork ??= import("./engine_work.ts").then((loaded) => {
    loaded.forgetRecentWalks();
    return loaded;
  });
  return work = await loadingWork;
}

/** `engine_work.ts` where a stage is past `#processStage`'s first step, which loaded it. */
function loadedWork(): EngineWork {
  if (work === undefined) throw new Error("engine_work.ts used before it was loaded");
  return work;
}

/** What a wave should do. */
export interface WaveRequest {
  /** Stages to consider, in topological order. */
  readonly stages: readonly StageDef[];
  /** Stages to run even if up to date. */
  readonly force: ReadonlySet<string>;
  /** Go on with independent stages after a failure. */
  readonly keepGoing: boolean;
  /** Stages executing at once. */
  readonly jobs: number;
  /** Run without writing locks, cache or state. */
  readonly noCommit: boolean;
  /** Fires on cancellation (Ctrl-C, RPC cancel). */
  readonly signal?: AbortSignal;
  /**
   * Commit the state writes queued by recorded runs every this many runs
   * (default {@link RECORDED_PER_COMMIT}), not only at the end of the wave.
   */
  readonly commitEvery?: number;
  /**
   * False: settle stages the verified index shows up to date one by one in
   * the general loop even when every stage of the wave is (tests compare
   * the two). By default such a wave is settled at once, without the schedule.
   */
  readonly settleAllAtOnce?: boolean;
  /**
   * The last wave of a command that closes its state right after it (a
   * single `repro`): the writes the wave queued last are committed by that
   * close, with the run's history, in one commit instead of two, and the
   * summary is not held for a commit of its own. Their order is kept: the
   * state commits queued writes in order.
   */
  readonly lastBeforeClose?: boolean;
}

/** How a stage ended in a wave, before it is reported as a `stage` event. */
interface StageOutcome {
  readonly status: StageStatus;
  readonly reason: string;
  readonly error?: string;
  /** Failed in its code: the stack, in project-relative paths (`-v`). */
  readonly stack?: string;
  /** What the run left in its worker, which was therefore replaced. */
  readonly leftovers?: readonly string[];
}

/**
 * A run whose outs are in place in the workspace (hashed, their hashes
 * remembered) but not yet recorded: what is left to store in the cache, its
 * lock file and its run-cache entry are written after the stages below it
 * have been let go.
 */
interface Placed {
  readonly reason: string;
  /** The outs as the lock file records them (undefined: `--no-commit`, nothing to record). */
  readonly outs: readonly LockOut[] | undefined;
  /** Store in the cache what was placed before it was stored (see `commitStagedOuts`). */
  readonly store: () => Promise<void>;
  /** What the run left in its worker, which was therefore replaced. */
  readonly leftovers?: readonly string[];
  /** A large directory was committed: collect the heap once the stages below are handed off. */
  readonly collect?: boolean;
}

/** What a wave shares with its stages while it runs. */
interface WaveState {
  stopping: boolean;
  /**
   * Stages the verified index showed up to date at the start of the wave
   * (lib/engine/verified.ts): skipped at once, unless an upstream stage of
   * the wave went further than a plain skip (it may have written their deps).
   */
  readonly verified: ReadonlyMap<string, Verified>;
  /** The index that answered {@link verified}, to check a stage again when it is settled. */
  readonly index: VerifiedIndex;
  /** Stages of the wave settled by the verified index, without a decision of their own. */
  readonly byIndex: Set<string>;
  /** Stages of the wave that went further than a plain skip (ran, restored, failed…). */
  readonly acted: Set<string>;
  /** True while stages other than the caller have not ended (a retired worker is replaced then). */
  readonly more: () => boolean;
  /** Let the stages below `stage` start: its outs are in place. */
  readonly release: (stage: StageDef) => void;
  /** A run was recorded (its state writes queued). */
  readonly recorded: () => void;
  /**
   * `stage` no longer holds up the main thread: its run is posted to its
   * worker (or its process started), it waits for a slot or another
   * process's lock, or it ended.
   */
  readonly handedOff: (stage: StageDef) => void;
  /** Resolves once every stage taken off the ready queue is handed off. */
  readonly quiet: () => Promise<void>;
  /**
   * The lock files of the wave's stages found in their directories by one
   * listing, made after the first decision that found none (a first run
   * has none): a stage whose lock file was not listed is decided without a
   * failing `stat` of it. Undefined until then.
   */
  listedLocks: ReadonlySet<string> | undefined;
}

const FAILED_UPSTREAM = new Set<StageStatus>(["failed", "blocked", "cancelled"]);

// How many stages may be deciding (hashing, reading locks) at once, beyond
// those executing: decisions are I/O-bound and cheap.
const DECIDING = 16;

/**
 * Runs recorded between two commits of the state writes they queue (lock
 * files' parsed contents, run-cache entries, logs, file stamps: a few KB a
 * stage). The commits run on KV's thread while the next stages run, so the
 * wave's end commits only what the last few runs queued (at 176 stages it
 * committed ~750 entries there: ~40 ms on KV's thread on the command's
 * path); and a wave of 10,000 stages does not hold them all until it ends.
 */
export const RECORDED_PER_COMMIT = 32;

/**
 * A directory out of this many files or more is followed by a collection
 * of the heap once the stages below are handed to their workers (one
 * 0.1-0.3 s collection, on the main thread: made while they run, not
 * before they start). It was made when the commit ended, before the next
 * stage's walk of the directory (the peak of a 100,000-file out's run, on
 * top of the commit's garbage); that stage now takes the placed hash and
 * walks nothing (`PlacementLease`).
 */
const COLLECT_AFTER_FILES = threshold(16_384, 512);

/**
 * The heap (committed) from which that collection is made: at 30,000 files
 * it is ~85 MiB, ~25 of it garbage, under the bar of other collections.
 */
const COLLECT_AFTER_HEAP_BYTES = 48 * 1024 * 1024;

/** Runs waves of stages and reports events to its sinks. */
export class Engine {
  readonly #context: EngineContext;
  readonly #pool: WorkerPool;
  readonly #events = new Events<EngineEvent>();

  /** An engine over `context`, executing stages in `pool`. */
  constructor(context: EngineContext, pool: WorkerPool) {
    this.#context = context;
    this.#pool = pool;
  }

  /** The context this engine works on. */
  get context(): EngineContext {
    return this.#context;
  }

  /** Add a sink; returns a function that removes it. */
  subscribe(sink: EventSink): () => void {
    return this.#events.subscribe(sink);
  }

  /** Run one wave; resolves with its summary (also emitted as the last event). */
  async runWave(request: WaveRequest): Promise<SummaryEvent> {
    const started = performance.now();
    const { graph } = this.#context;
    // Files written since the last marker (an earlier wave of watch mode) may be trusted now.
    this.#context.state.markClock();
    // Object stamps are true once written: committed as they come (a large out's commit).
    if (!request.noCommit) this.#context.state.streamObjectStamps();
    const index = await verifiedIndexOf(this.#context.state);
    const verified = index.takeRecent(this.#context) ??
      index.check(this.#context, request.stages.filter((s) => !request.force.has(s.name)));
    if (request.settleAllAtOnce !== false && this.#allVerified(request, verified)) {
      return await this.#skipAll(request, index, started);
    }
    const results = new Map<string, StageOutcome>();
    const running = new Map<string, Promise<void>>();
    const slots = new Slots(request.jobs);
    // Each stage waits for its upstream stages within this wave (until they
    // end, or put their outs in place); a failure blocks everything below it
    // that has not started, at once.
    const schedule = new WaveSchedule(request.stages, graph);
    // Wakes the loop below when a stage lets its downstream go before it ends.
    let wake = () => {};
    // Commits of queued state writes during the wave, one after another.
    let committing = Promise.resolve();
    let commitError: { error: unknown } | undefined;
    let recorded = 0;
    // Stages taken off the ready queue and not yet handed off, and the
    // recordings waiting for them (see `#record`).
    const starting = new Set<string>();
    let waitingForQuiet: (() => void)[] = [];
    const { state } = this.#context;
    const wave: WaveState = {
      stopping: false,
      more: () => schedule.unfinished > 1,
      verified,
      index,
      byIndex: new Set(),
      acted: new Set(),
      release: (stage) => {
        schedule.release(stage);
        wake();
      },
      recorded: () => {
        // (A `--no-commit` run records nothing, and must write no state.)
        if (request.noCommit) return;
        // Also as a long wave's last stages are recorded: its end then
        // commits only what the last one queued (the commit began meanwhile).
        // A short wave commits at its end only, as one commit: fewer commits
        // of two processes at once into the store.
        const every = request.commitEvery ?? RECORDED_PER_COMMIT;
        ++recorded;
        if (recorded % every !== 0 && (recorded < every || schedule.unfinished > 2)) return;
        committing = committing.then(() => state.flush()).catch((error) => {
          commitError ??= { error };
        });
      },
      handedOff: (stage) => {
        if (starting.delete(stage.name)) settleQuiet();
      },
      quiet: () =>
        isQuiet()
          ? Promise.resolve()
          : new Promise<void>((resolve) => waitingForQuiet.push(resolve)),
      listedLocks: undefined,
    };
    // Quiet: no stage is being decided or posted, and none is ready that
    // the loop below could take now.
    const isQuiet = () => starting.size === 0 && !(schedule.hasReady && running.size < DECIDING);
    const settleQuiet = () => {
      if (waitingForQuiet.length === 0 || !isQuiet()) return;
      const waiting = waitingForQuiet;
      waitingForQuiet = [];
      for (const resolve of waiting) resolve();
    };
    // Directories may have been removed or changed since the last wave (watch mode).
    forgetAllDirs();
    work?.forgetRecentWalks();
    this.#events.emit({ type: "wave-start", stages: request.stages.map((s) => s.name) });

    // A stage's event follows those of its upstream stages (`report_order.ts`).
    const order = new ReportOrder(request.stages, graph);
    const finish = (stage: StageDef, result: StageOutcome, since: number) => {
      results.set(stage.name, result);
      if (result.status === "failed" && !request.keepGoing) wave.stopping = true;
      const duration_ms = Math.round(performance.now() - since);
      // The plain event (every stage of a no-op) without the spreads of empty objects.
      const event: StageEvent = result.error === undefined && result.stack === undefined &&
          !result.leftovers?.length
        ? {
          type: "stage",
          stage: stage.name,
          status: result.status,
          reason: result.reason,
          duration_ms,
        }
        : {
          type: "stage",
          stage: stage.name,
          status: result.status,
          reason: result.reason,
          duration_ms,
          ...(result.error !== undefined ? { error: result.error } : {}),
          ...(result.stack !== undefined ? { stack: result.stack } : {}),
          ...(result.leftovers?.length ? { leftovers: result.leftovers } : {}),
        };
      order.report(stage.name, () => this.#events.emit(event));
      this.#emitPoolWarnings();
    };

    const settle = (stage: StageDef, result: StageOutcome, since: number) => {
      finish(stage, result, since);
      for (const blocked of schedule.end(stage, FAILED_UPSTREAM.has(result.status))) {
        finish(blocked.stage, {
          status: "blocked",
          reason: `upstream '${blocked.by}' did not complete`,
        }, performance.now());
      }
    };

    while (schedule.hasReady || running.size > 0) {
      while (schedule.hasReady && running.size < DECIDING) {
        const stage = schedule.take()!;
        if (request.signal?.aborted) {
          settle(
            stage,
            { status: "cancelled", reason: "cancelled before it started" },
            performance.now(),
          );
          continue;
        }
        if (wave.stopping) {
          settle(stage, {
            status: "blocked",
            reason: "not started after a failure (use --keep-going)",
          }, performance.now());
          continue;
        }
        const since = performance.now();
        if (this.#verified(stage, request, wave)) {
          // Up to date by the verified index: settled at once, without a task.
          settle(stage, { status: "skipped", reason: "up to date" }, since);
          continue;
        }
        starting.add(stage.name);
        const task = this.#processStage(stage, request, slots, wave)
          .catch((error): StageOutcome => ({
            status: "failed",
            reason: "internal error",
            error: messageOf(error),
          }))
          .then((result) => {
            running.delete(stage.name);
            wave.handedOff(stage);
            settle(stage, result, since);
          });
        running.set(stage.name, task);
      }
      settleQuiet();
      if (running.size > 0) {
        await Promise.race([...running.values(), new Promise<void>((r) => wake = r)]);
      }
    }

    // One pass over the outcomes, not one copy of them per status.
    const counts = new Map<StageStatus, number>();
    for (const { status } of results.values()) counts.set(status, (counts.get(status) ?? 0) + 1);
    const count = (status: StageStatus) => counts.get(status) ?? 0;
    const summary: SummaryEvent = {
      type: "summary",
      ran: count("ran"),
      skipped: count("skipped"),
      restored: count("restored"),
      failed: count("failed"),
      blocked: count("blocked"),
      cancelled: count("cancelled"),
      duration_ms: Math.round(performance.now() - started),
    };
    mark("engine: wave ended");
    await committing;
    if (commitError !== undefined) throw commitError.error;
    if (!request.noCommit) {
      index.save(this.#context);
      mark("engine: verified index saved");
      if (!request.lastBeforeClose) {
        await state.flush();
        mark("engine: state flushed");
      }
    }
    this.#events.emit(summary);
    mark("engine: summary emitted");
    return summary;
  }

  /**
   * True when the general loop of {@link runWave} would settle every stage
   * of the wave by the verified index, in pipeline order, without a task:
   * nothing forced or cancelled, every stage verified, and each stage's
   * upstream stages all in the wave (so none is asked about again, see
   * {@link #verified}).
   */
  #allVerified(request: WaveRequest, verified: ReadonlyMap<string, Verified>): boolean {
    if (request.signal?.aborted || verified.size < request.stages.length) return false;
    const { graph } = this.#context;
    // A wave of every stage of the graph (a subset of it) holds every upstream stage;
    // the edges are read only otherwise (a graph from the load cache makes them when first read).
    const inWave = request.stages.length === graph.order.length ? undefined : new Set<string>();
    for (const stage of request.stages) {
      if (request.force.has(stage.name) || !verified.has(stage.name)) return false;
      if (inWave === undefined) continue;
      for (const name of graph.upstream.get(stage.name) ?? []) if (!inWave.has(name)) return false;
      inWave.add(stage.name);
    }
    return true;
  }

  /**
   * A wave whose every stage the verified index shows up to date
   * ({@link #allVerified}): the events, summary and saved index of the
   * general loop, without its schedule. That loop takes the earliest ready
   * stage each time, and with every stage settled at once that is pipeline
   * order, so the `stage` events come in the order of `request.stages`.
   */
  async #skipAll(
    request: WaveRequest,
    index: VerifiedIndex,
    started: number,
  ): Promise<SummaryEvent> {
    forgetAllDirs();
    this.#events.emit({ type: "wave-start", stages: request.stages.map((s) => s.name) });
    // Settling a stage here takes no time (two clock readings a stage said 0),
    // and this loop never waits, so no pool warning can arrive during it: one
    // queued before comes after the first stage, as when asked after each.
    let first = true;
    for (const stage of request.stages) {
      this.#events.emit({
        type: "stage",
        stage: stage.name,
        status: "skipped",
        reason: "up to date",
        duration_ms: 0,
      });
      if (first) this.#emitPoolWarnings();
      first = false;
    }
    const summary: SummaryEvent = {
      type: "summary",
      ran: 0,
      skipped: request.stages.length,
      restored: 0,
      failed: 0,
      blocked: 0,
      cancelled: 0,
      duration_ms: Math.round(performance.now() - started),
    };
    mark("engine: wave ended (every stage verified)");
    if (!request.noCommit) {
      index.save(this.#context);
      mark("engine: verified index saved");
      await this.#context.state.flush();
      mark("engine: state flushed");
    }
    this.#events.emit(summary);
    mark("engine: summary emitted");
    return summary;
  }

  async #processStage(
    stage: StageDef,
    request: WaveRequest,
    slots: Slots,
    wave: WaveState,
  ): Promise<StageOutcome> {
    const forced = request.force.has(stage.name);
    const { decide, tryStageLock, lockWaitMessage, lockErrorMessage, lockCancelReason } =
      await engineWork();
    // A stage with a directory dep is decided under its lock when no other
    // process holds it: the decision then needs no second walk of every
    // file under the lock (`depsUnchanged`), half the work of a changed
    // 100,000-file directory. So is a stage that will most likely act: one
    // below a stage that acted in this wave (its deps were just written),
    // or with no lock file when the wave listed them (never run): its
    // decision is then not checked again under the lock (a stat of the
    // lock file and a hash of each dep, on a chain's path). Other stages
    // are decided first without it (deciding costs a few stats; the lock,
    // a file made and removed).
    //
    // Either way the decision may reuse a walk of a directory dep made
    // moments ago (an upstream's out, walked by that stage's decision or
    // placed by its run): a no-op then stats such a directory once, not
    // once as an out and again as a dep. Under the lock that is safe for a
    // plain skip only: it writes nothing, and the verified index records
    // the walk's own stamps, so a change since the walk is seen next time;
    // this lock never kept other writers of the dep away anyway (the
    // upstream stage's runs hold that stage's lock), so a change right
    // after the reused walk is the race a change right after a fresh one
    // is. A `checkout` does hold this lock while it replaces the dep, and
    // may have run between the walk and the lock: a decision that reused a
    // walk and would act is made again with fresh walks first, so that
    // nothing a run or restore records comes from a walk older than the
    // lock. Except a directory this process placed as an upstream's out
    // under that stage's lock, held still (`PlacementLease`: the upstream
    // records its run while the stages below are decided): every Pivot
    // writer of that directory (its stage's runs, `checkout`, `commit`)
    // needs that lock, so the tree is the one placed, whose every file's
    // hash and stamp the commit knew; an edit by hand since is the race an
    // edit just after a fresh walk is, and the next run sees it by its
    // stamps. A stage below one that ran in this wave thus walks its
    // directory dep not at all.
    const held = stage.deps.some((dep) => dep.isDir) || this.#likelyToAct(stage, wave, forced)
      ? tryStageLock(this.#context, stage)
      : undefined;
    let before: Decision;
    try {
      // Without the lock, a lock file made since the wave's listing of them
      // is found by the check under the lock (`lockUnchanged`), which
      // decides again; with it, the lock file is read.
      before = await decide(this.#context, stage, {
        forced,
        upstreamWillRun: false,
        reuseWalks: true,
        nameFiles: false,
        // (Not when forced: the check under the lock keeps a forced decision.)
        lockAbsent: held === undefined && !forced && wave.listedLocks !== undefined &&
          !wave.listedLocks.has(stage.lockFile),
      });
      if (held !== undefined && before.reusedWalk && !isPlainSkip(before)) {
        mark(`engine: ${stage.name}: decided again with fresh walks (it would act)`);
        before = await decide(this.#context, stage, {
          forced,
          upstreamWillRun: false,
          nameFiles: false,
        });
      }
    } catch (error) {
      await held?.release();
      throw error;
    }
    if (before.lock === undefined && wave.listedLocks === undefined) {
      wave.listedLocks = listedPaths(request.stages.map((s) => s.lockFile));
    }
    if (isPlainSkip(before)) {
      await held?.release();
      return { status: "skipped", reason: "up to date" };
    }
    wave.acted.add(stage.name);

    // Another process may be on this stage: take its lock, then decide again
    // if that process touched the stage meanwhile.
    let holder: LockHolder | undefined;
    const onWait = (held: LockHolder) => {
      holder = held;
      wave.handedOff(stage);
      this.#events.emit({ type: "warning", message: lockWaitMessage(this.#context, stage, held) });
    };
    let outcome: StageOutcome | undefined;
    try {
      outcome = await this.#underLock(stage, request, slots, wave, {
        forced,
        onWait,
        before,
        held,
      });
    } catch (error) {
      const message = lockErrorMessage(this.#context, stage, error);
      if (message === undefined) throw error;
      return { status: "failed", reason: "lock", error: message };
    }
    return outcome ?? { status: "cancelled", reason: lockCancelReason(this.#context, holder) };
  }

  /**
   * True when `stage` will most likely run or restore (see
   * {@link #processStage}): forced, an upstream stage acted in this wave,
   * or its lock file was missing from the wave's listing of them.
   */
  #likelyToAct(stage: StageDef, wave: WaveState, forced: boolean): boolean {
    if (forced || (wave.listedLocks !== undefined && !wave.listedLocks.has(stage.lockFile))) {
      return true;
    }
    for (const name of this.#context.graph.upstream.get(stage.name) ?? []) {
      if (wave.acted.has(name)) return true;
    }
    return false;
  }

  /**
   * True when the verified index showed `stage` up to date at the start of
   * the wave and no upstream stage of the wave has acted since (it may have
   * written the stage's deps). When an upstream stage was not itself settled
   * by the index (it was decided, perhaps after waiting for another process
   * that ran it, or is outside the wave), the stamps seen at the start may
   * be old by now: another `pivot` may have written the stage's deps since,
   * and be running it. The index is then asked again, with stamps taken now.
   */
  #verified(stage: StageDef, request: WaveRequest, wave: WaveState): boolean {
    if (request.force.has(stage.name) || !wave.verified.has(stage.name)) return false;
    let again = false;
    for (const name of this.#context.graph.upstream.get(stage.name) ?? []) {
      if (wave.acted.has(name)) return false;
      if (!wave.byIndex.has(name)) again = true;
    }
    if (again && !wave.index.check(this.#context, [stage]).has(stage.name)) return false;
    wave.byIndex.add(stage.name);
    return true;
  }

  /** Take `stage`'s execution lock, decide again if needed, and act: skip, restore or execute. */
  #underLock(
    stage: StageDef,
    request: WaveRequest,
    slots: Slots,
    wave: WaveState,
    { forced, onWait, before, held }: {
      forced: boolean;
      onWait: (holder: LockHolder) => void;
      before: Decision;
      held: HeldLock | undefined;
    },
  ): Promise<StageOutcome | undefined> {
    return loadedWork().withStageLock(
      this.#context,
      stage,
      { forced, signal: request.signal, onWait, before, held },
      async (decision): Promise<StageOutcome> => {
        if (isPlainSkip(decision)) return { status: "skipped", reason: "up to date" };
        if (decision.status === "up-to-date") {
          if (await this.#restoreLocked(decision)) {
            return decision.restore.length > 0
              ? { status: "restored", reason: "outs restored from cache" }
              : { status: "skipped", reason: "up to date" };
          }
        } else if (decision.runCache && !request.noCommit) {
          if (await this.#restoreRunCache(decision, decision.runCache)) {
            return { status: "restored", reason: `${decision.reasons.join(",")} (run cache)` };
          }
        }
        // While this lasts, this process holds the stage's lock: a directory
        // out placed under it is vouched for to the stages below (their
        // decisions, under their own locks, take its hash instead of a walk:
        // `PlacementLease`). Ended before the lock is released.
        const lease = { held: true };
        try {
          const outcome = await this.#execute(decision, request, slots, wave, lease);
          return "placed" in outcome ? await this.#record(decision, outcome.placed, wave) : outcome;
        } finally {
          lease.held = false;
        }
      },
    );
  }

  /**
   * Record a run whose outs are in place: let the stages below it start
   * first (they read its outs, not its lock file), then store what is left
   * to store in the cache, and write its lock file and run-cache entry while
   * they are decided and run, still holding the stage's execution lock. A
   * failure here fails the stage: no lock file claims the run (the new one
   * is written whole or not at all, after its objects), and whatever below
   * it has not started is blocked.
   */
  async #record(decision: Decision, placed: Placed, wave: WaveState): Promise<StageOutcome> {
    const { stage } = decision;
    wave.release(stage);
    const left = placed.leftovers?.length ? { leftovers: placed.leftovers } : {};
    // A large directory's commit leaves its per-file garbage (promises,
    // buffers, stamps: ~100 MiB at 100,000 files) in pages V8 keeps: given
    // back while the stages below run.
    const collect = async () => {
      if (!placed.collect) return;
      await (await import("../free_memory.ts")).releaseHeapAndFreed(COLLECT_AFTER_HEAP_BYTES);
      mark("engine: heap released after a large directory");
    };
    if (placed.outs === undefined) {
      await collect();
      return { status: "ran", reason: placed.reason, ...left };
    }
    // Record once the released stages are handed to their workers (or wait
    // for a slot or a lock): deciding and posting them comes first, and the
    // recording then runs while they do.
    await wave.quiet();
    await collect();
    try {
      await placed.store();
      await loadedWork().recordRun(this.#context, decision, placed.outs, { background: true });
      mark(`engine: ${stage.name} recorded`);
      wave.recorded();
    } catch (error) {
      return {
        status: "failed",
        reason: placed.reason,
        // Paths relative to the project, as in every message about a stage.
        error: `stage '${stage.name}': its outs are in place but its run could not be ` +
          `recorded, so it will run again: ${
            messageOf(error).replaceAll(this.#context.project.root + "/", "")
          }`,
        ...left,
      };
    }
    return { status: "ran", reason: placed.reason, ...left };
  }

  /** Restore `outs` of `stage` from the cache; false (stop) at the first that cannot be. */
  async #restoreAll(stage: StageDef, outs: readonly LockOut[]): Promise<boolean> {
    for (const locked of outs) {
      let out = stage.outs.find((o) => o.path === locked.path)!;
      // A command stage's path of inferred kind is what the run made it.
      if (out.kindInferred) out = { ...out, isDir: await this.#lockedAsDir(locked) };
      if (
        !(await loadedWork().restoreOut(this.#context, out, locked, this.#context.checkoutMode))
      ) return false;
    }
    return true;
  }

  /**
   * Whether a locked out is a directory: the run cache says so; a lock file
   * records a directory with its file count; else its object is a manifest.
   */
  async #lockedAsDir(locked: LockOut): Promise<boolean> {
    const recorded = locked as { isDir?: boolean; files?: unknown };
    if (recorded.isDir !== undefined) return recorded.isDir;
    if (recorded.files !== undefined) return true;
    let manifest: unknown;
    try {
      manifest = await this.#context.cache.readManifest(locked.hash);
    } catch {
      return false; // not JSON: a file's content
    }
    // A JSON file's object parses too: a manifest is exactly `{ files: [{ path, hash }] }`.
    const files = (manifest as { files?: unknown } | undefined)?.files;
    return Object.keys(manifest ?? {}).length === 1 && Array.isArray(files) &&
      files.every((f) =>
        typeof f?.path === "string" && typeof f?.hash === "string" && Object.keys(f).length === 2
      );
  }

  async #restoreLocked(decision: Decision): Promise<boolean> {
    const { stage } = decision;
    if (!(await this.#restoreAll(stage, decision.restore))) return false;
    for (const locked of decision.recache) {
      await loadedWork().recacheOut(
        this.#context,
        stage.outs.find((o) => o.path === locked.path)!,
        locked,
      );
    }
    return true;
  }

  async #restoreRunCache(decision: Decision, entry: RunCacheEntry): Promise<boolean> {
    if (!(await this.#restoreAll(decision.stage, entry.outs))) return false;
    await loadedWork().recordRun(
      this.#context,
      decision,
      entry.outs.map(({ isDir: _, ...out }) => out),
    );
    return true;
  }

  /**
   * Execute a stage in a worker, holding an execution slot meanwhile. A run
   * that succeeded in a worker comes back `placed`: its outs are in the
   * workspace, its worker and slot free, and it is still to be recorded.
   */
  async #execute(
    decision: Decision,
    request: WaveRequest,
    slots: Slots,
    wave: WaveState,
    lease: PlacementLease,
  ): Promise<StageOutcome | { readonly placed: Placed }> {
    const { stage } = decision;
    if (request.signal?.aborted) {
      return { status: "cancelled", reason: "cancelled before it started" };
    }
    if (slots.busy(stage)) wave.handedOff(stage);
    await slots.acquire(stage);
    try {
      if (wave.stopping) {
        return { status: "blocked", reason: "not started after a failure (use --keep-going)" };
      }
      // A command stage runs as a process, not in a worker (`command_stage.ts`).
      const missing = missingDep(stage, this.#context.project.root);
      const result = missing !== undefined
        ? { status: "failed" as const, reason: decision.reasons.join(","), error: missing }
        : stage.code.kind === "command"
        ? await loadedWork().executeCommandStage(this.#context, decision, {
          ...request,
          graceMs: this.#pool.options.graceMs,
          emit: (event) => {
            this.#events.emit(event);
            if (event.type === "stage-start") wave.handedOff(stage);
          },
        })
        : await this.#executeInWorker(decision, request, wave, lease);
      wave.handedOff(stage);
      // Stop others before this slot frees: a waiting stage must see it.
      if ("status" in result && result.status === "failed" && !request.keepGoing) {
        wave.stopping = true;
      }
      return result;
    } finally {
      slots.release(stage);
    }
  }

  async #executeInWorker(
    decision: Decision,
    request: WaveRequest,
    wave: WaveState,
    lease: PlacementLease,
  ): Promise<StageOutcome | { readonly placed: Placed }> {
    const { stage } = decision;
    // A run stopped by work an earlier stage left running in its worker
    // (not by anything it did) runs once more, in another worker.
    for (let attempt = 1;; attempt++) {
      const worker = await this.#pool.acquire(stage.permissions);
      const dirs = worker.staging.current;
      const run = { links: [] as string[], clean: false };
      let leftovers: readonly string[] = [];
      let outcome: StageOutcome | { readonly placed: Placed } | "interrupted" | undefined;
      try {
        outcome = await this.#runInWorker(decision, request, worker, dirs, run, wave, lease);
      } finally {
        // The worker waits at its gate until it is released: nothing the
        // stage left running has touched its outs meanwhile.
        leftovers = await worker.leftovers();
        const more = outcome === "interrupted" || wave.more();
        this.#pool.release(worker, { ...run, more });
        this.#emitPoolWarnings();
      }
      if (outcome === "interrupted") {
        if (attempt < 2) continue;
        return {
          status: "failed",
          reason: decision.reasons.join(","),
          error:
            `stage '${stage.name}': its worker was stopped twice by work other stages left running`,
        };
      }
      if (leftovers.length === 0) return outcome;
      // What the run left behind is reported with its `stage` event, once it is recorded.
      return "placed" in outcome
        ? { placed: { ...outcome.placed, leftovers } }
        : { ...outcome, leftovers };
    }
  }

  #emitPoolWarnings(): void {
    for (const message of this.#pool.takeWarnings()) {
      this.#events.emit({ type: "warning", message });
    }
  }

  async #runInWorker(
    decision: Decision,
    request: WaveRequest,
    worker: StageWorker,
    dirs: RunDirs,
    run: { links: string[]; clean: boolean },
    wave: WaveState,
    lease: PlacementLease,
  ): Promise<StageOutcome | { readonly placed: Placed } | "interrupted"> {
    const { stage } = decision;
    const reason = decision.reasons.join(",");
    if (request.signal?.aborted) {
      return { status: "cancelled", reason: "cancelled before it started" };
    }
    const deps = loadedWork().linkDeps(stage, dirs.deps);
    run.links = deps.map((d) => d.path);
    const outs = await loadedWork().prepareOuts(
      stage,
      dirs.outs,
      (out) => this.#lastVersions(decision, out),
    );
    this.#events.emit({ type: "stage-start", stage: stage.name });
    mark(`engine: ${stage.name} started`);
    const files = this.#readFilesDeps(stage);
    if (typeof files === "string") return { status: "failed", reason, error: files };
    const running = worker.run(
      {
        stage: stage.name,
        pipeline: stage.pipeline.name,
        code: stage.code,
        deps,
        outs,
        params: stage.params,
        variant: stage.variant,
        tmpDir: dirs.tmp,
        ...(files ? { files } : {}),
      },
      (stream, text) => this.#events.emit({ type: "log", stage: stage.name, stream, text }),
      request.signal,
      this.#pool.options.graceMs,
    );
    // Posted: the main thread may record other runs while this one runs.
    wave.handedOff(stage);
    const outcome: RunOutcome = await running;
    mark(`engine: ${stage.name} ran`);
    if (outcome.status === "cancelled") return { status: "cancelled", reason: "cancelled" };
    if (outcome.status === "failed") {
      if (outcome.interrupted) return "interrupted";
      const { message, stack } = explainFailure(stage, outcome, dirs, this.#context.project.root);
      return { status: "failed", reason, error: message, ...(stack ? { stack } : {}) };
    }
    try {
      loadedWork().checkStagedOuts(stage, dirs.outs);
      loadedWork().checkReturnedOuts(stage, dirs.outs, outcome.files);
    } catch (error) {
      if (error instanceof OutputError) return { status: "failed", reason, error: error.message };
      throw error;
    }
    const stores: (() => Promise<unknown>)[] = [];
    const locked = await loadedWork().commitStagedOuts(this.#context, stage, dirs.outs, {
      noCommit: request.noCommit,
      deferStore: (store) => stores.push(store),
      lease,
      returned: outcome.files,
    });
    mark(`engine: ${stage.name} committed`);
    run.clean = true;
    const store = async () => {
      for (const later of stores) await later();
    };
    const collect = locked.some((out) => (out.files ?? 0) >= COLLECT_AFTER_FILES);
    return {
      placed: {
        reason,
        outs: request.noCommit ? undefined : locked,
        store,
        ...(collect ? { collect } : {}),
      },
    };
  }

  /**
   * The files of each of `stage`'s `loaders.files()` deps, read here,
   * outside the stage's sandbox, where each open costs the stage Deno's
   * path checks (docs/returned_files.md); the message of the failure when
   * one cannot be read.
   */
  #readFilesDeps(stage: StageDef): Record<string, ReturnedFiles> | string | undefined {
    let files: Record<string, ReturnedFiles> | undefined;
    for (const dep of stage.deps) {
      if (!isFilesSpec(dep.loader)) continue;
      try {
        (files ??= {})[dep.name] = loadedWork().readFilesUnder(dep.abs);
      } catch (error) {
        const { name, message } = error instanceof Error ? error : new Error(String(error));
        return `stage '${stage.name}': could not load dep '${dep.name}' (${dep.path}/) with loaders.files(): ${name}: ${message}`;
      }
    }
    if (files !== undefined) mark(`engine: ${stage.name}'s files deps read`);
    return files;
  }

  /** Where the last version of an incremental out may be: the workspace, then the cache. */
  #lastVersions(decision: Decision, out: OutDef): string[] {
    const locked = decision.lock?.outs.find((o) => o.path === out.path);
    const cached = locked !== undefined && !out.isDir && this.#context.cache.has(locked.hash);
    return cached ? [out.abs, this.#context.cache.objectPath(locked.hash)] : [out.abs];
  }
}

function isPlainSkip(decision: Decision | undefined): boolean {
  return decision !== undefined && decision.status === "up-to-date" &&
    decision.restore.length === 0 && decision.recache.length === 0;
}

/**
 * Why `stage` cannot start when one of its deps is not in the workspace (all
 * its producers have run by now): tracked data not checked out in a fresh
 * clone, say. Without this the stage's own code failed on the path.
 */
function missingDep(stage: StageDef, root: string): string | undefined {
  const dep = stage.deps.find((dep) => statOrUndefined(dep.abs) === undefined);
  if (dep === undefined) return undefined;
  // The tracked path is the dep's or an enclosing directory's (`data/raw.pvt`).
  for (let abs = dep.abs; abs.startsWith(root + "/"); abs = dirname(abs)) {
    if (statOrUndefined(loadedWork().trackFileOf(abs)) === undefined) continue;
    const tracked = abs.slice(root.length + 1);
    const inside = tracked === dep.path ? "" : ` (in ${tracked})`;
    return `dep '${dep.path}' is tracked data missing from the workspace${inside}: 'pivot checkout ${tracked}' restores it from the cache ('pivot pull' from a remote)`;
  }
  return `dep '${dep.path}' does not exist: create it, or run the stage that makes it`;
}
