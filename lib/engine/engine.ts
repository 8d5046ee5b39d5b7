/**
 * The engine: runs waves. A wave takes a set of stages (in topological
 * order), decides for each — once its upstream stages are done, so dep hashes
 * are real — whether to skip it, restore its outs, or execute it in a worker,
 * and reports every step as an event. Batch `repro`, `run`, watch mode and
 * RPC requests all go through {@link Engine.runWave}.
 *
 * @module
 */

import { dirname, join } from "node:path";
import { messageOf } from "../errors.ts";
import { Events } from "../events.ts";
import type { StageDef } from "../model/stage_def.ts";
import { copyTree, copyWritable } from "../storage/copy.ts";
import { ensureDir, forgetAllDirs } from "../storage/ensure_dir.ts";
import type { LockOut } from "../storage/lock_file.ts";
import { acquireExecLock } from "../storage/exec_lock.ts";
import type { RunDirs, RunOutcome, WorkerPool } from "../worker/pool.ts";
import type { StagedArtifact } from "../worker/protocol.ts";
import { type EngineContext, stageKey } from "./context.ts";
import { decide, type Decision, lockUnchanged, type RunCacheEntry } from "./decide.ts";
import type { EngineEvent, EventSink, StageStatus, SummaryEvent } from "./events.ts";
import {
  checkStagedOuts,
  commitStagedOuts,
  OutputError,
  recacheOut,
  removePath,
  restoreOut,
} from "./outputs.ts";
import { recordRun } from "./record.ts";
import { Slots } from "./slots.ts";
import { explainFailure } from "./failure.ts";

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
    const names = new Set(request.stages.map((s) => s.name));
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
    const index = new Map(request.stages.map((s, i) => [s.name, i]));
    const remaining = new Map(request.stages.map((s) => [
      s.name,
      [...graph.upstream.get(s.name)!].filter((n) => names.has(n)).length,
    ]));
    const ready: StageDef[] = request.stages.filter((s) => remaining.get(s.name) === 0);
    const settle = (stage: StageDef, result: StageOutcome, since: number) => {
      finish(stage, result, since);
      const failed = FAILED_UPSTREAM.has(result.status);
      const below = [...graph.downstream.get(stage.name)!]
        .filter((n) => names.has(n) && !results.has(n))
        .sort((a, b) => index.get(a)! - index.get(b)!);
      for (const name of below) {
        const next = graph.byName.get(name)!;
        if (failed) {
          settle(next, {
            status: "blocked",
            reason: `upstream '${stage.name}' did not complete`,
          }, performance.now());
          continue;
        }
        const left = remaining.get(name)! - 1;
        remaining.set(name, left);
        if (left === 0) insertByIndex(ready, next, index);
      }
    };

    while (ready.length > 0 || running.size > 0) {
      while (ready.length > 0 && running.size < DECIDING) {
        const stage = ready.shift()!;
        if (results.has(stage.name)) continue;
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
    const first = await decide(this.#context, stage, { forced, upstreamWillRun: false });
    if (isPlainSkip(first)) return { status: "skipped", reason: "up to date" };

    // Another process may be on this stage: take its lock, then decide again.
    const lock = await acquireExecLock(
      join(this.#context.project.tmpDir, "locks"),
      stageKey(this.#context, stage),
      {
        signal: request.signal,
        onWait: () =>
          this.#events.emit({
            type: "warning",
            message: `stage '${stage.name}' is being run by another pivot process; waiting for it`,
          }),
      },
    ).catch(() => undefined);
    if (!lock) {
      return { status: "cancelled", reason: "cancelled while waiting for another process" };
    }
    try {
      // Decide again only if another process touched the stage meanwhile.
      const decision = forced || lockUnchanged(first)
        ? first
        : await decide(this.#context, stage, { forced, upstreamWillRun: false });
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
    } finally {
      await lock.release();
    }
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
    const dirs: RunDirs = worker.dirs;
    let links: string[] = [];
    let clean = false;
    try {
      if (request.signal?.aborted) {
        return { status: "cancelled", reason: "cancelled before it started" };
      }
      const deps = this.#linkDeps(stage, dirs.deps);
      links = deps.map((d) => d.path);
      const outs = await this.#prepareOuts(decision, dirs.outs);
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

  #linkDeps(stage: StageDef, depsDir: string): StagedArtifact[] {
    const staged: StagedArtifact[] = [];
    for (const dep of stage.deps) {
      const link = join(depsDir, stagedName(dep.path));
      ensureDir(dirname(link));
      // A hard link is ~30× cheaper than a symlink here; directories, and
      // files on another filesystem, get a symlink.
      if (dep.isDir || !tryHardLink(dep.abs, link)) Deno.symlinkSync(dep.abs, link);
      staged.push({ name: dep.name, path: link, loader: dep.loader });
    }
    return staged;
  }

  async #prepareOuts(decision: Decision, outsDir: string): Promise<StagedArtifact[]> {
    const staged: StagedArtifact[] = [];
    for (const out of decision.stage.outs) {
      const path = join(outsDir, out.path);
      ensureDir(out.isDir ? path : dirname(path));
      if (out.kind === "incremental") await this.#seedIncremental(decision, out, path);
      staged.push({ name: out.name, path, loader: out.loader, selfWritten: out.selfWritten });
    }
    return staged;
  }

  /** An incremental out starts as a writable copy of its last version. */
  async #seedIncremental(
    decision: Decision,
    out: StageDef["outs"][number],
    path: string,
  ): Promise<void> {
    const copy = async (from: string) => {
      if (out.isDir) {
        removePath(path);
        await copyTree(from, path);
      } else {
        await copyWritable(from, path);
      }
    };
    try {
      await copy(out.abs);
      return;
    } catch (error) {
      if (!(error instanceof Deno.errors.NotFound)) throw error;
    }
    const locked = decision.lock?.outs.find((o) => o.path === out.path);
    if (locked && !out.isDir && this.#context.cache.has(locked.hash)) {
      await copy(this.#context.cache.objectPath(locked.hash));
    }
  }
}

/** Insert `stage` into `queue`, which stays ordered by pipeline position. */
function insertByIndex(
  queue: StageDef[],
  stage: StageDef,
  index: ReadonlyMap<string, number>,
): void {
  const position = index.get(stage.name)!;
  let at = queue.length;
  while (at > 0 && index.get(queue[at - 1].name)! > position) at--;
  queue.splice(at, 0, stage);
}

function isPlainSkip(decision: Decision | undefined): boolean {
  return decision !== undefined && decision.status === "up-to-date" &&
    decision.restore.length === 0 && decision.recache.length === 0;
}

function tryHardLink(source: string, link: string): boolean {
  try {
    Deno.linkSync(source, link);
    return true;
  } catch (error) {
    // Missing (the loader will say so), another filesystem, or not allowed.
    void error;
    return false;
  }
}

/** Map a project-relative path into the staging tree (paths outside the project too). */
function stagedName(path: string): string {
  return path.split("/").map((part) => part === ".." ? "__up__" : part).join("/");
}
