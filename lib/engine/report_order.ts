/**
 * The order of a wave's `stage` events: a stage's event comes after the
 * events of its upstream stages in the wave. A stage's downstream may start,
 * and even end, while it still writes its lock file
 * ({@link WaveSchedule.release}); the downstream's event then waits for it,
 * so that the events of a chain (and the run history) read top down.
 *
 * @module
 */

import type { StageGraph } from "../graph/graph.ts";
import type { StageDef } from "../model/stage_def.ts";

/** Holds a stage's event until the events of its upstream stages are out. */
export class ReportOrder {
  readonly #graph: StageGraph;
  /** Position in the wave (pipeline order) by name. */
  readonly #index: ReadonlyMap<string, number>;
  readonly #reported = new Set<string>();
  readonly #held = new Map<string, () => void>();

  /** The order for a wave of `stages` (in topological order), a subset of `graph`'s. */
  constructor(stages: readonly StageDef[], graph: StageGraph) {
    this.#graph = graph;
    this.#index = new Map(stages.map((s, i) => [s.name, i]));
  }

  /** Stages whose event is held. */
  get held(): number {
    return this.#held.size;
  }

  /**
   * Call `emit`, the reporting of `stage`'s event, now if every upstream
   * stage of the wave has been reported, else as soon as they all have.
   */
  report(stage: string, emit: () => void): void {
    if (!this.#upstreamReported(stage)) {
      this.#held.set(stage, emit);
      return;
    }
    emit();
    this.#reported.add(stage);
    // Nothing held (a wave whose stages end top down, as every no-op): nothing to release.
    if (this.#held.size === 0) return;
    const below = [...this.#graph.downstream.get(stage) ?? []]
      .filter((name) => this.#held.has(name))
      .sort((a, b) => this.#index.get(a)! - this.#index.get(b)!);
    for (const name of below) {
      const waiting = this.#held.get(name);
      if (waiting === undefined || !this.#upstreamReported(name)) continue;
      this.#held.delete(name);
      this.report(name, waiting);
    }
  }

  #upstreamReported(stage: string): boolean {
    for (const up of this.#graph.upstream.get(stage) ?? []) {
      if (this.#index.has(up) && !this.#reported.has(up)) return false;
    }
    return true;
  }
}
