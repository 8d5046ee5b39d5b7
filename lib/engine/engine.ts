/**
 * The engine: runs waves. A wave takes a set of stages (in topological
 * order), decides for each — once its upstream stages are done, so dep hashes
 * are real — whether to skip it, restore its outs, or execute it in a worker,
 * and reports every step as an event. Batch `repro`, `run`, watch mode and
 * RPC requests all go through {@link Engine.runWave}.
 *
 * @module
 */

import { messageOf, OutputError } from "../errors.ts";
import { Events } from "../events.ts";
import type { OutDef, StageDef } from "../model/stage_def.ts";
import { forgetAllDirs } from "../storage/ensure_dir.ts";
import type { LockHolder } from "../storage/exec_lock.ts";
import type { LockOut } from "../storage/lock_file.ts";
import type { RunOutcome, WorkerPool } from "../worker/pool.ts";
import { checkStagedOuts, linkDeps, prepareOuts } from "../worker/staging.ts";
import type { EngineContext } from "./context.ts";
import { decide, type Decision, type RunCacheEntry } from "./decide.ts";
import type { EngineEvent, EventSink, StageStatus, SummaryEvent } from "./events.ts";
import { explainFailure } from "./failure.ts";
import { WaveSchedule } from "./schedule.ts";
import { Slots } from "./slots.ts";
import { recordRun } from "./record.ts";
import {
  lockCancelReason,
  lockErrorMessage,
  lockWaitMessage,
  withStageLock,
} from "./stage_lock.ts";
import { commitStagedOuts, recacheOut, restoreOut } from "./workspace_outs.ts";

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
}

/** How a stage ended in a wave, before it is reported as a `stage` event. */
interface StageOutcome {
  readonly status: StageStatus;
  readonly reason: string;
  readonly error?: string;
}

const FAILED_UPSTREAM = new Set<StageStatus>(["failed", "blocked", "cancelled"]);

// How many stages may be deciding (hashing, reading locks) at once, beyond
// those executing: decisions are I/O-bound and cheap.
const DECIDING = 16;

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
    const results = new Map<string, StageOutcome>();
    const running = new Map<string, Promise<void>>();
    const slots = new Slots(request.jobs);
    const wave = { stopping: false };
    // Directories may have been removed since the last wave (watch mode).
    forgetAllDirs();
    this.#events.emit({ type: "wave-start", stages: request.stages.map((s) => s.name) });

    const finish = (stage: StageDef, result: StageOutcome, since: number) => {
      results.set(stage.name, result);
      if (result.status === "failed" && !request.keepGoing) wave.stopping = true;
      this.#events.emit({
        type: "stage",
        stage: stage.name,
        status: result.status,
        reason: result.reason,
        duration_ms: Math.round(performance.now() - since),
        ...(result.error !== undefined ? { error: result.error } : {}),
      });
    };

    // Each stage waits for its upstream stages within this wave; a failure
    // blocks everything below it at once.
    const schedule = new WaveSchedule(request.stages, graph);
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
        const task = this.#processStage(stage, request, slots, wave)
          .catch((error): StageOutcome => ({
            status: "failed",
            reason: "internal error",
            error: messageOf(error),
          }))
          .then((result) => {
            running.delete(stage.name);
            settle(stage, result, since);
          });
        running.set(stage.name, task);
      }
      if (running.size > 0) await Promise.race(running.values());
    }

    const count = (status: StageStatus) =>
      [...results.values()].filter((r) => r.status === status).length;
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
    if (!request.noCommit) await this.#context.state.flush();
    this.#events.emit(summary);
    return summary;
  }

  async #processStage(
    stage: StageDef,
    request: WaveRequest,
    slots: Slots,
    wave: { stopping: boolean },
  ): Promise<StageOutcome> {
    const forced = request.force.has(stage.name);
    const before = await decide(this.#context, stage, { forced, upstreamWillRun: false });
    if (isPlainSkip(before)) return { status: "skipped", reason: "up to date" };

    // Another process may be on this stage: take its lock, then decide again
    // if that process touched the stage meanwhile.
    let holder: LockHolder | undefined;
    const onWait = (held: LockHolder) => {
      holder = held;
      this.#events.emit({ type: "warning", message: lockWaitMessage(this.#context, stage, held) });
    };
    let outcome: StageOutcome | undefined;
    try {
      outcome = await this.#underLock(stage, request, slots, wave, { forced, onWait, before });
    } catch (error) {
      const message = lockErrorMessage(this.#context, stage, error);
      if (message === undefined) throw error;
      return { status: "failed", reason: "lock", error: message };
    }
    return outcome ?? { status: "cancelled", reason: lockCancelReason(this.#context, holder) };
  }

  /** Take `stage`'s execution lock, decide again if needed, and act: skip, restore or execute. */
  #underLock(
    stage: StageDef,
    request: WaveRequest,
    slots: Slots,
    wave: { stopping: boolean },
    { forced, onWait, before }: {
      forced: boolean;
      onWait: (holder: LockHolder) => void;
      before: Decision;
    },
  ): Promise<StageOutcome | undefined> {
    return withStageLock(
      this.#context,
      stage,
      { forced, signal: request.signal, onWait, before },
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
        return await this.#execute(decision, request, slots, wave);
      },
    );
  }

  /** Restore `outs` of `stage` from the cache; false (stop) at the first that cannot be. */
  async #restoreAll(stage: StageDef, outs: readonly LockOut[]): Promise<boolean> {
    for (const locked of outs) {
      const out = stage.outs.find((o) => o.path === locked.path)!;
      if (!(await restoreOut(this.#context, out, locked, this.#context.checkoutMode))) return false;
    }
    return true;
  }

  async #restoreLocked(decision: Decision): Promise<boolean> {
    const { stage } = decision;
    if (!(await this.#restoreAll(stage, decision.restore))) return false;
    for (const locked of decision.recache) {
      await recacheOut(this.#context, stage.outs.find((o) => o.path === locked.path)!, locked);
    }
    return true;
  }

  async #restoreRunCache(decision: Decision, entry: RunCacheEntry): Promise<boolean> {
    if (!(await this.#restoreAll(decision.stage, entry.outs))) return false;
    await recordRun(
      this.#context,
      decision,
      entry.outs.map(({ path, hash, kind }) => ({ path, hash, kind })),
    );
    return true;
  }

  /** Execute a stage in a worker, holding an execution slot meanwhile. */
  async #execute(
    decision: Decision,
    request: WaveRequest,
    slots: Slots,
    wave: { stopping: boolean },
  ): Promise<StageOutcome> {
    const { stage } = decision;
    if (request.signal?.aborted) {
      return { status: "cancelled", reason: "cancelled before it started" };
    }
    await slots.acquire(stage);
    try {
      if (wave.stopping) {
        return { status: "blocked", reason: "not started after a failure (use --keep-going)" };
      }
      const result = await this.#executeInWorker(decision, request);
      // Stop others before this slot frees: a waiting stage must see it.
      if (result.status === "failed" && !request.keepGoing) wave.stopping = true;
      return result;
    } finally {
      slots.release(stage);
    }
  }

  async #executeInWorker(decision: Decision, request: WaveRequest): Promise<StageOutcome> {
    const { stage } = decision;
    const reason = decision.reasons.join(",");
    const worker = await this.#pool.acquire(stage.permissions);
    const dirs = worker.dirs;
    let links: string[] = [];
    let clean = false;
    try {
      if (request.signal?.aborted) {
        return { status: "cancelled", reason: "cancelled before it started" };
      }
      const deps = linkDeps(stage, dirs.deps);
      links = deps.map((d) => d.path);
      const outs = await prepareOuts(stage, dirs.outs, (out) => this.#lastVersions(decision, out));
      this.#events.emit({ type: "stage-start", stage: stage.name });
      const outcome: RunOutcome = await worker.run(
        {
          stage: stage.name,
          pipeline: stage.pipeline.name,
          code: stage.code,
          deps,
          outs,
          params: stage.params,
          variant: stage.variant,
          tmpDir: dirs.tmp,
        },
        (stream, text) => this.#events.emit({ type: "log", stage: stage.name, stream, text }),
        request.signal,
        this.#pool.options.graceMs,
      );
      if (outcome.status === "cancelled") return { status: "cancelled", reason: "cancelled" };
      if (outcome.status === "failed") {
        return {
          status: "failed",
          reason,
          error: explainFailure(stage, outcome, dirs, this.#context.project.root),
        };
      }
      try {
        checkStagedOuts(stage, dirs.outs);
      } catch (error) {
        if (error instanceof OutputError) return { status: "failed", reason, error: error.message };
        throw error;
      }
      const locked = await commitStagedOuts(this.#context, stage, dirs.outs, request);
      clean = true;
      if (!request.noCommit) await recordRun(this.#context, decision, locked);
      return { status: "ran", reason };
    } finally {
      this.#pool.release(worker);
      if (worker.alive) worker.resetDirs(links, clean);
    }
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
