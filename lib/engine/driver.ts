/**
 * The driver: the one loop through which every run goes. Sources push inputs
 * — a one-shot run request (batch `repro`), file changes (watch mode), RPC
 * commands (the agent socket) — and the driver turns them into waves on the
 * engine, one at a time. Inputs that arrive during a wave are queued and
 * coalesced into the next one; nothing is lost. Sinks receive every event.
 *
 * A code change reloads the pipeline (in a fresh isolate) before the next
 * wave and replaces the warm workers, which hold the old code.
 *
 * @module
 */

import { mark } from "../trace.ts";
import { messageOf } from "../errors.ts";
import { Events } from "../events.ts";
import { withDownstream, withUpstream } from "../graph/graph.ts";
import { holds } from "../model/overlap.ts";
import type { StageDef } from "../model/stage_def.ts";
import { canonicalJson } from "../storage/hash.ts";
import type { WorkerPool } from "../worker/pool.ts";
import type { EngineContext } from "./context.ts";
import { Engine } from "./engine.ts";
import type { EngineEvent, EventSink, SummaryEvent } from "./events.ts";
import { stageLogRecorder } from "./stage_log.ts";

/** What a source can push. */
export type DriverInput =
  | {
    /** Run stages (and their stale upstream): all when `stages` is absent. */
    readonly type: "run";
    readonly stages?: readonly string[];
    readonly force?: boolean;
    /** Exactly `stages`, without their upstream (`pivot run`). */
    readonly exact?: boolean;
  }
  | {
    /** Files changed (absolute paths): deps (`data`) and code or definitions (`code`). */
    readonly type: "changes";
    readonly data: readonly string[];
    readonly code: readonly string[];
  }
  | {
    /** Cancel the running wave. */
    readonly type: "cancel";
  }
  | {
    /** Stop once the queue is empty (cancelling nothing). */
    readonly type: "stop";
  };

/** Where the driver gets the pipeline from. */
export interface PipelineSource {
  /** The current context. */
  readonly context: EngineContext;
  /** Load the pipeline afresh; throws (leaving `context` as it was) on a bad pipeline. */
  reload(): Promise<EngineContext>;
  /**
   * Get ready for a {@link reload} that may come soon (start its isolate,
   * say): the code files `changed` (absolute) changed.
   */
  prepareReload?(changed: readonly string[]): void;
}

/** Options of {@link Driver}. */
export interface DriverOptions {
  /** The pipeline. */
  readonly source: PipelineSource;
  /** A new worker pool (one per loaded version of the code). */
  readonly makePool: () => WorkerPool;
  /** Parallelism. */
  readonly jobs: number;
  /** Go on after a failure. */
  readonly keepGoing: boolean;
  /** Run without writing locks, cache or state. */
  readonly noCommit: boolean;
  /** Select stages by name or pattern (throws for an unknown name). */
  readonly select: (context: EngineContext, names: readonly string[]) => StageDef[];
  /**
   * Run the stages a file change affects (watch mode; the default). When
   * false, a change only reloads the pipeline if code changed and is
   * reported as a `files-changed` event (`pivot ui`, where runs are asked for).
   */
  readonly runOnChange?: boolean;
  /**
   * The command closes the state as soon as the driver stops (a single
   * run): its last wave leaves its last writes to that close
   * (`WaveRequest.lastBeforeClose`).
   */
  readonly closesStateAfter?: boolean;
  /** Called after a successful reload (to re-aim the file watcher, say). */
  readonly onReload?: (context: EngineContext) => void;
  /** Called for a failed reload or a bad request; the driver goes on. */
  readonly onError: (message: string) => void;
}

/** Turns inputs into waves. */
export class Driver {
  readonly #options: DriverOptions;
  readonly #events = new Events<EngineEvent>();
  #queue: DriverInput[] = [];
  #wake: (() => void) | undefined;
  #engine: Engine;
  #pool: WorkerPool;
  /** The pool for the next version of the code, its workers started ahead of need. */
  #nextPool: WorkerPool | undefined;
  /** Pools being closed (their staging areas removed) while waves go on. */
  readonly #closing = new Set<Promise<void>>();
  #wave: AbortController | undefined;
  #stopping = false;
  #closed: Promise<void> = Promise.resolve();

  /** A driver over `options.source`. */
  constructor(options: DriverOptions) {
    this.#options = options;
    this.#pool = options.makePool();
    this.#engine = this.#newEngine(options.source.context);
    if (!options.noCommit) this.subscribe(stageLogRecorder(() => this.context.state));
  }

  /** The current context. */
  get context(): EngineContext {
    return this.#options.source.context;
  }

  /** True while a wave runs. */
  get busy(): boolean {
    return this.#wave !== undefined;
  }

  /** Add a sink; returns a function that removes it. */
  subscribe(sink: EventSink): () => void {
    return this.#events.subscribe(sink);
  }

  #newEngine(context: EngineContext): Engine {
    const engine = new Engine(context, this.#pool);
    engine.subscribe((event) => this.#events.emit(event));
    return engine;
  }

  /** Push an input. `cancel` acts at once; the others are queued. */
  push(input: DriverInput): void {
    if (input.type === "cancel") {
      this.#wave?.abort();
      return;
    }
    this.#queue.push(input);
    this.#wake?.();
  }

  /**
   * Process inputs until a `stop` input has been reached and the queue is
   * empty. Resolves with the summaries of the waves run.
   */
  async run(): Promise<SummaryEvent[]> {
    const summaries: SummaryEvent[] = [];
    try {
      while (!(this.#stopping && this.#queue.length === 0)) {
        if (this.#queue.length === 0) {
          await new Promise<void>((resolve) => this.#wake = resolve);
          this.#wake = undefined;
          continue;
        }
        const inputs = this.#queue;
        this.#queue = [];
        if (inputs.some((input) => input.type === "stop")) this.#stopping = true;
        const summary = await this.#handle(inputs);
        if (summary) summaries.push(summary);
      }
    } finally {
      mark("driver: closing the pool");
      const closing = Promise.all([
        this.#pool.close(),
        this.#nextPool?.close(),
        ...this.#closing,
      ]).then(() => {});
      // A command that closes its state next lets the staging area's
      // removal go on beside that close (see `closed`).
      if (this.#options.closesStateAfter) this.#closed = closing;
      else await closing;
    }
    return summaries;
  }

  /**
   * Resolves once the pools are closed and their staging areas removed:
   * when {@link run} returns, except with `closesStateAfter`, whose caller
   * waits for this before it ends (it never rejects).
   */
  get closed(): Promise<void> {
    return this.#closed;
  }

  /**
   * Get ready for a reload (a code file changed; the batch that reloads comes
   * after the debounce): start the loader's isolate and the workers of the
   * next version of the code now, none of which imports the user's code
   * before it is needed (docs/watch.md, "Latency").
   */
  prepareReload(changed: readonly string[]): void {
    if (this.#stopping) return;
    this.#options.source.prepareReload?.(changed);
    this.#nextPool ??= this.#options.makePool();
    this.#nextPool.warmLike(this.#pool);
  }

  /** Stop after the current wave, dropping nothing already queued. */
  stop(): void {
    this.push({ type: "stop" });
  }

  async #handle(inputs: readonly DriverInput[]): Promise<SummaryEvent | undefined> {
    const code = inputs.flatMap((i) => i.type === "changes" ? i.code : []);
    const data = inputs.flatMap((i) => i.type === "changes" ? i.data : []);
    const runs = inputs.filter((i): i is Extract<DriverInput, { type: "run" }> => i.type === "run");

    const affected = new Set<string>();
    if (code.length > 0 || data.length > 0) {
      let reloaded = false;
      let failure: string | undefined;
      if (code.length > 0) {
        const before = this.context;
        try {
          const after = await this.#options.source.reload();
          // Loaded and fingerprinted: the next pool's workers may import it.
          this.#nextPool?.preloadWarm(moduleUrlsOf(after));
          // New code: the warm workers hold the old modules. Their pool's
          // staging areas are removed while the next wave runs.
          const closing = this.#pool.close();
          this.#closing.add(closing);
          void closing.finally(() => this.#closing.delete(closing));
          this.#pool = this.#nextPool ?? this.#options.makePool();
          this.#nextPool = undefined;
          this.#engine = this.#newEngine(after);
          this.#options.onReload?.(after);
          reloaded = true;
          for (const name of changedStages(before, after)) affected.add(name);
        } catch (error) {
          failure = messageOf(error);
          this.#options.onError(failure);
        }
      }
      const root = this.context.project.root;
      this.#events.emit({
        type: "files-changed",
        data: data.map((path) => relativeTo(root, path)),
        code: code.map((path) => relativeTo(root, path)),
        reloaded,
        ...(failure !== undefined ? { error: failure } : {}),
      });
      if (this.#options.runOnChange === false) affected.clear();
      else if (failure !== undefined && runs.length === 0 && data.length === 0) return undefined;
    }
    const context = this.context;
    if (this.#options.runOnChange !== false) {
      for (const stage of context.graph.order) {
        if (stage.deps.some((dep) => data.some((path) => holds(dep.abs, dep.isDir, path)))) {
          affected.add(stage.name);
        }
      }
    }

    const selected = new Set<string>();
    const force = new Set<string>();
    for (const run of runs) {
      let targets: StageDef[];
      try {
        if (!run.stages || run.stages.length === 0) targets = [...context.graph.order];
        else {
          const named = this.#options.select(context, run.stages);
          targets = run.exact ? named : withUpstream(context.graph, named.map((s) => s.name));
        }
      } catch (error) {
        this.#options.onError(messageOf(error));
        continue;
      }
      for (const stage of targets) {
        selected.add(stage.name);
        if (run.force) force.add(stage.name);
      }
    }
    for (const stage of withDownstream(context.graph, affected)) selected.add(stage.name);
    if (selected.size === 0) return undefined;

    this.#wave = new AbortController();
    try {
      return await this.#engine.runWave({
        stages: context.graph.order.filter((s) => selected.has(s.name)),
        force,
        keepGoing: this.#options.keepGoing,
        jobs: this.#options.jobs,
        noCommit: this.#options.noCommit,
        signal: this.#wave.signal,
        lastBeforeClose: this.#options.closesStateAfter === true && this.#stopping &&
          this.#queue.length === 0,
      });
    } finally {
      this.#wave = undefined;
    }
  }
}

/** The module URLs of the stages of `context` that run in a worker. */
function moduleUrlsOf(context: EngineContext): Set<string> {
  const urls = new Set<string>();
  for (const stage of context.graph.order) {
    if (stage.code.kind !== "command") urls.add(stage.code.moduleUrl);
  }
  return urls;
}

function relativeTo(root: string, path: string): string {
  return path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
}

/**
 * Stages of `after` that are new, or whose definition (paths, params, code
 * location) or code fingerprint differs from `before`.
 */
function changedStages(before: EngineContext, after: EngineContext): string[] {
  const changed: string[] = [];
  for (const stage of after.graph.order) {
    const old = before.graph.byName.get(stage.name);
    if (!old) {
      changed.push(stage.name);
      continue;
    }
    const sameDefinition = canonicalJson(definitionOf(old)) === canonicalJson(definitionOf(stage));
    const sameCode = canonicalJson(before.fingerprints.get(stage.name)?.manifest) ===
      canonicalJson(after.fingerprints.get(stage.name)?.manifest);
    if (!sameDefinition || !sameCode) changed.push(stage.name);
  }
  return changed;
}

function definitionOf(stage: StageDef): unknown {
  return {
    deps: stage.deps,
    outs: stage.outs,
    params: stage.params,
    mutex: stage.mutex,
    permissions: stage.permissions,
  };
}
