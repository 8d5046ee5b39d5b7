/**
 * The order of a wave: a stage is ready once every upstream stage of the
 * wave has ended or has put its outs in place ({@link WaveSchedule.release}),
 * ready stages start in pipeline order, and a stage that fails (or is blocked
 * or cancelled) blocks everything below it that has not started, at once.
 *
 * @module
 */

import type { StageGraph } from "../graph/graph.ts";
import type { StageDef } from "../model/stage_def.ts";

/** A stage blocked by a failure above it. */
export interface BlockedStage {
  /** The stage. */
  readonly stage: StageDef;
  /** The stage directly above it that did not complete. */
  readonly by: string;
}

/** The ready queue of one wave. */
export class WaveSchedule {
  readonly #graph: StageGraph;
  /** Position in the wave (pipeline order) by name. */
  readonly #index: ReadonlyMap<string, number>;
  /** Upstream stages of the wave not yet ended, by name. */
  readonly #waiting: Map<string, number>;
  readonly #ready: StageDef[];
  readonly #ended = new Set<string>();
  /** Stages taken off the ready queue (they report their own end). */
  readonly #taken = new Set<string>();
  /** Stages whose downstream was counted as ready before they ended. */
  readonly #released = new Set<string>();

  /** A schedule of `stages` (in topological order), a subset of `graph`'s. */
  constructor(stages: readonly StageDef[], graph: StageGraph) {
    this.#graph = graph;
    this.#index = new Map(stages.map((s, i) => [s.name, i]));
    this.#waiting = new Map();
    for (const stage of stages) {
      let waiting = 0;
      for (const name of graph.upstream.get(stage.name)!) if (this.#index.has(name)) waiting++;
      this.#waiting.set(stage.name, waiting);
    }
    this.#ready = stages.filter((s) => this.#waiting.get(s.name) === 0);
  }

  /** True while a stage is ready to start. */
  get hasReady(): boolean {
    return this.#ready.length > 0;
  }

  /** How many stages of the wave have not ended yet (running, waiting or ready). */
  get unfinished(): number {
    return this.#index.size - this.#ended.size;
  }

  /** The earliest ready stage (in pipeline order), taken off the queue. */
  take(): StageDef | undefined {
    const stage = this.#ready.shift();
    if (stage !== undefined) this.#taken.add(stage.name);
    return stage;
  }

  /**
   * Let the stages below `stage` start before it ends: its outs are in
   * place, and what it still does (write its lock file) is nothing they
   * read. Its {@link end} comes later; if it then fails, whatever below it
   * has not started yet is blocked all the same.
   */
  release(stage: StageDef): void {
    if (this.#ended.has(stage.name) || this.#released.has(stage.name)) return;
    this.#released.add(stage.name);
    for (const next of this.#below(stage)) this.#upstreamDone(next);
  }

  /**
   * Record that `stage` ended. When it did not complete (`failed`), every
   * stage below it in the wave is blocked and returned, in the order to
   * report them (depth first, each level in pipeline order); otherwise the
   * stages it was the last upstream of become ready.
   */
  end(stage: StageDef, failed: boolean): BlockedStage[] {
    const blocked: BlockedStage[] = [];
    this.#end(stage, failed, blocked);
    return blocked;
  }

  #end(stage: StageDef, failed: boolean, blocked: BlockedStage[]): void {
    this.#ended.add(stage.name);
    if (failed) this.#block(stage, blocked);
    else if (!this.#released.has(stage.name)) {
      for (const next of this.#below(stage)) this.#upstreamDone(next);
    }
  }

  /**
   * Block every stage below `stage` that has not started, naming `by` as the
   * stage above it that did not complete. One that started already (below a
   * stage released before it failed) reports its own end, but what is below
   * it is blocked too, by the same stage: it depends on the failed one.
   */
  #block(stage: StageDef, blocked: BlockedStage[], by = stage.name): void {
    for (const next of this.#below(stage)) {
      // Blocking an earlier stage of `below` may have ended this one already
      // (it is below that stage too): each stage is blocked once.
      if (this.#ended.has(next.name)) continue;
      if (this.#taken.has(next.name)) {
        this.#block(next, blocked, by);
        continue;
      }
      const queued = this.#ready.indexOf(next);
      if (queued >= 0) this.#ready.splice(queued, 1);
      blocked.push({ stage: next, by });
      this.#ended.add(next.name);
      this.#block(next, blocked);
    }
  }

  /** The stages of the wave directly below `stage` that have not ended, in pipeline order. */
  #below(stage: StageDef): StageDef[] {
    const below: StageDef[] = [];
    for (const name of this.#graph.downstream.get(stage.name)!) {
      if (this.#index.has(name) && !this.#ended.has(name)) {
        below.push(this.#graph.byName.get(name)!);
      }
    }
    if (below.length > 1) {
      below.sort((a, b) => this.#index.get(a.name)! - this.#index.get(b.name)!);
    }
    return below;
  }

  /** One more upstream stage of `stage` is done: it is ready when none is left. */
  #upstreamDone(stage: StageDef): void {
    const left = this.#waiting.get(stage.name)! - 1;
    this.#waiting.set(stage.name, left);
    if (left === 0) this.#insertReady(stage);
  }

  /** Insert `stage` into the ready queue, which stays in pipeline order. */
  #insertReady(stage: StageDef): void {
    const position = this.#index.get(stage.name)!;
    let at = this.#ready.length;
    while (at > 0 && this.#index.get(this.#ready[at - 1].name)! > position) at--;
    this.#ready.splice(at, 0, stage);
  }
}
