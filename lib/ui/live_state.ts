/**
 * The web UI's model of the pipeline, kept by the server and shared by every
 * page: the graph, each stage's status, the running wave, and the log of each
 * stage's last run. It is fed by the engine's event stream (the same events
 * as `repro --json` and the agent socket) and by predictions (`status`'s
 * decisions), and reports each change as a {@link UiMessage}, so two browser
 * tabs always show the same state.
 *
 * What a node shows: `running` while it runs; else the outcome of its last
 * wave (`ran`, `restored`, `failed`, `blocked`, `cancelled`) while that
 * outcome agrees with the latest prediction and the stage's inputs are those
 * it ran with; else the prediction (`up-to-date`, `will-run`). So a stage
 * that just ran shows `ran` until one of its inputs changes, and a failed
 * stage shows `failed` until it is fixed or run again.
 *
 * @module
 */

import type { Decision } from "../engine/decide.ts";
import type { EngineEvent, StageStatus } from "../engine/events.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { StageGraph } from "../graph/graph.ts";
import { canonicalJson } from "../storage/hash.ts";
import type {
  Explanation,
  LogLine,
  NodeStatus,
  RunRecord,
  Snapshot,
  StageNode,
  StageState,
  UiMessage,
  WaveInfo,
} from "./protocol.ts";

/** How much of a stage's log is kept: the last lines up to this many characters. */
const LOG_LIMIT_CHARS = 1 << 20;
/** How many past runs of each stage are kept. */
const RUNS_KEPT = 20;

interface Prediction {
  readonly status: "up-to-date" | "will-run";
  readonly reasons: readonly string[];
  /** The stage's inputs (code manifest, params, dep hashes), as canonical JSON. */
  readonly inputs: string;
  readonly explain: Explanation;
  readonly decision: Decision;
}

interface Outcome {
  readonly status: StageStatus;
  readonly duration_ms: number;
  readonly finished: number;
  readonly error?: string;
  /** The inputs of the first prediction after it: a later change of them ends the outcome. */
  inputs?: string;
}

class StageLog {
  lines: LogLine[] = [];
  chars = 0;
  dropped = 0;
  running = true;

  add(line: LogLine): void {
    this.lines.push(line);
    this.chars += line.text.length;
    while (this.chars > LOG_LIMIT_CHARS && this.lines.length > 1) {
      this.chars -= this.lines.shift()!.text.length;
      this.dropped++;
    }
  }
}

interface Entry {
  node: StageNode;
  prediction?: Prediction;
  outcome?: Outcome;
  running?: { readonly started: number };
  queued: boolean;
  log?: StageLog;
  runs: RunRecord[];
}

/** Facts about the project shown in the page header. */
export interface ProjectFacts {
  /** Pipeline name. */
  readonly name: string;
  /** Absolute root. */
  readonly root: string;
  /** Pivot's version. */
  readonly version: string;
  /** `ui` or `watch` (`repro --watch --ui`). */
  readonly mode: "ui" | "watch";
}

const OUTCOME_SHOWN: Record<StageStatus, NodeStatus> = {
  ran: "ran",
  skipped: "up-to-date",
  restored: "restored",
  failed: "failed",
  blocked: "blocked",
  cancelled: "cancelled",
};

/** The UI's state of one pipeline; `send` receives every change. */
export class LiveState {
  readonly #facts: ProjectFacts;
  readonly #send: (message: UiMessage) => void;
  #entries = new Map<string, Entry>();
  #order: string[] = [];
  #graphVersion = 0;
  #graphKey = "";
  #wave: WaveInfo = { running: false, total: 0, done: 0 };
  #problem: string | undefined;

  /** A state for `graph`, sending changes to `send`. */
  constructor(facts: ProjectFacts, graph: StageGraph, send: (message: UiMessage) => void) {
    this.#facts = facts;
    this.#send = send;
    this.#setGraph(graph);
  }

  /** Everything, for a page that connects. */
  snapshot(): Snapshot {
    return {
      project: { name: this.#facts.name, root: this.#facts.root },
      version: this.#facts.version,
      mode: this.#facts.mode,
      graphVersion: this.#graphVersion,
      stages: this.#order.map((name) => this.#entries.get(name)!.node),
      states: Object.fromEntries(this.#order.map((name) => [name, this.#stateOf(name)])),
      wave: this.#wave,
      ...(this.#problem !== undefined ? { problem: this.#problem } : {}),
    };
  }

  /** True when `name` is a stage of the current graph. */
  has(name: string): boolean {
    return this.#entries.has(name);
  }

  /**
   * The node, state, explanation, log and runs of a stage (undefined: no
   * such stage). The log is null when this server saw no run of it.
   */
  stage(name: string): {
    node: StageNode;
    state: StageState;
    explain: Explanation | undefined;
    decision: Decision | undefined;
    log: { lines: readonly LogLine[]; dropped: number; running: boolean } | null;
    runs: readonly RunRecord[];
  } | undefined {
    const entry = this.#entries.get(name);
    if (!entry) return undefined;
    return {
      node: entry.node,
      state: this.#stateOf(name),
      explain: entry.prediction?.explain,
      decision: entry.prediction?.decision,
      log: entry.log
        ? { lines: [...entry.log.lines], dropped: entry.log.dropped, running: entry.log.running }
        : null,
      runs: [...entry.runs].reverse(),
    };
  }

  /**
   * A pipeline was loaded (again). A graph that differs from the current one
   * replaces it and every page gets a new snapshot; stages that stay keep
   * their outcome and log.
   */
  reload(graph: StageGraph): void {
    if (this.#setGraph(graph)) this.#send({ type: "snapshot", snapshot: this.snapshot() });
  }

  #setGraph(graph: StageGraph): boolean {
    const nodes = graph.order.map((stage) => nodeOf(stage, graph));
    const key = canonicalJson(nodes);
    if (key === this.#graphKey) return false;
    this.#graphKey = key;
    this.#graphVersion++;
    const entries = new Map<string, Entry>();
    for (const node of nodes) {
      const old = this.#entries.get(node.name);
      entries.set(node.name, old ? { ...old, node } : { node, queued: false, runs: [] });
    }
    this.#entries = entries;
    this.#order = nodes.map((node) => node.name);
    return true;
  }

  /** Apply fresh decisions (`status`'s prediction) for the stages they cover. */
  predict(decisions: readonly Decision[]): void {
    const changed: string[] = [];
    for (const decision of decisions) {
      const entry = this.#entries.get(decision.stage.name);
      if (!entry) continue;
      const before = this.#stateOf(decision.stage.name);
      const prediction = predictionOf(decision);
      entry.prediction = prediction;
      if (entry.outcome) {
        if (entry.outcome.inputs === undefined) entry.outcome.inputs = prediction.inputs;
        else if (entry.outcome.inputs !== prediction.inputs) entry.outcome = undefined;
      }
      if (!sameState(before, this.#stateOf(decision.stage.name))) changed.push(decision.stage.name);
    }
    this.#sendStates(changed);
  }

  /** Set or clear the message of a pipeline that could not be loaded. */
  setProblem(problem: string | undefined): void {
    if (problem === this.#problem) return;
    this.#problem = problem;
    this.#send({ type: "problem", problem: problem ?? null });
  }

  /** Take one engine event into account. */
  apply(event: EngineEvent, now = Date.now()): void {
    switch (event.type) {
      case "wave-start": {
        const queued = event.stages.filter((name) => this.#entries.has(name));
        for (const name of queued) this.#entries.get(name)!.queued = true;
        this.#wave = {
          running: true,
          started: now,
          total: event.stages.length,
          done: 0,
          ...(this.#wave.summary ? { summary: this.#wave.summary } : {}),
        };
        this.#send({ type: "wave", wave: this.#wave });
        this.#sendStates(queued);
        break;
      }
      case "stage-start": {
        const entry = this.#entries.get(event.stage);
        if (!entry) break;
        entry.running = { started: now };
        entry.log = new StageLog();
        this.#sendStates([event.stage]);
        break;
      }
      case "log": {
        const entry = this.#entries.get(event.stage);
        if (!entry) break;
        const line: LogLine = { stream: event.stream, text: event.text };
        (entry.log ??= new StageLog()).add(line);
        this.#send({ type: "log", lines: [{ stage: event.stage, ...line }] });
        break;
      }
      case "stage": {
        const entry = this.#entries.get(event.stage);
        this.#wave = { ...this.#wave, done: this.#wave.done + 1 };
        this.#send({ type: "wave", wave: this.#wave });
        if (!entry) break;
        const ran = entry.running !== undefined;
        entry.running = undefined;
        entry.queued = false;
        if (entry.log) entry.log.running = false;
        entry.outcome = {
          status: event.status,
          duration_ms: event.duration_ms,
          finished: now,
          ...(event.error !== undefined
            ? { error: event.error }
            : event.status === "blocked"
            ? { error: event.reason }
            : {}),
        };
        if (ran || event.status === "failed") {
          entry.runs.push({ finished: now, status: event.status, duration_ms: event.duration_ms });
          if (entry.runs.length > RUNS_KEPT) entry.runs.shift();
        }
        this.#sendStates([event.stage]);
        break;
      }
      case "summary": {
        const { type: _, ...counts } = event;
        const unfinished = this.#order.filter((name) => this.#entries.get(name)!.queued);
        for (const name of unfinished) this.#entries.get(name)!.queued = false;
        this.#wave = { ...this.#wave, running: false, summary: counts };
        this.#send({ type: "wave", wave: this.#wave });
        this.#sendStates(unfinished);
        break;
      }
      case "warning":
        this.#send({ type: "warning", message: event.message });
        break;
      case "files-changed":
        if (event.error !== undefined) this.setProblem(event.error);
        else if (event.reloaded) this.setProblem(undefined);
        break;
    }
  }

  #stateOf(name: string): StageState {
    const entry = this.#entries.get(name)!;
    const prediction = entry.prediction;
    const reasons = prediction?.reasons ?? [];
    const queued = entry.queued ? { queued: true } : {};
    if (entry.running) {
      return { status: "running", reasons, started: entry.running.started, ...queued };
    }
    const outcome = entry.outcome;
    const last = outcome
      ? {
        duration_ms: outcome.duration_ms,
        finished: outcome.finished,
        ...(outcome.error !== undefined ? { error: outcome.error } : {}),
      }
      : {};
    // Until a prediction made after it arrives, the outcome stands.
    if (outcome && (outcome.inputs === undefined || agrees(outcome.status, prediction?.status))) {
      return { status: OUTCOME_SHOWN[outcome.status], reasons, ...last, ...queued };
    }
    return { status: prediction?.status ?? "checking", reasons, ...last, ...queued };
  }

  #sendStates(names: readonly string[]): void {
    if (names.length === 0) return;
    this.#send({
      type: "states",
      states: Object.fromEntries(names.map((name) => [name, this.#stateOf(name)])),
    });
  }
}

/**
 * An outcome is still what the node shows while the prediction agrees with
 * it: a stage that ran (or was skipped or restored) is up to date, one that
 * failed, was blocked or cancelled will run.
 */
function agrees(outcome: StageStatus, predicted: "up-to-date" | "will-run" | undefined): boolean {
  if (predicted === undefined) return true;
  const done = outcome === "ran" || outcome === "skipped" || outcome === "restored";
  return done === (predicted === "up-to-date");
}

function sameState(a: StageState, b: StageState): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** The node of `stage` in `graph`. */
function nodeOf(stage: StageDef, graph: StageGraph): StageNode {
  return {
    name: stage.name,
    ...(stage.variant !== undefined ? { group: stage.baseName, variant: stage.variant } : {}),
    pipeline: stage.pipeline.name,
    upstream: [...(graph.upstream.get(stage.name) ?? [])],
    deps: stage.deps.map((d) => d.path + (d.isDir ? "/" : "")),
    outs: stage.outs.map((o) => ({ path: o.path + (o.isDir ? "/" : ""), kind: o.kind })),
  };
}

/** A decision as the page shows it: the SPEC §6 `status --json` entry. */
function explanationOf(decision: Decision): Explanation {
  return {
    status: decision.status,
    reasons: decision.reasons,
    changes: decision.changes,
    restore: decision.restore.map((o) => o.path),
    runCache: decision.runCache !== undefined,
  };
}

function predictionOf(decision: Decision): Prediction {
  return {
    status: decision.status,
    reasons: decision.reasons,
    inputs: canonicalJson({
      code: decision.manifest,
      params: decision.stage.params,
      deps: decision.deps.map(({ path, hash }) => ({ path, hash })),
    }),
    explain: explanationOf(decision),
    decision,
  };
}
