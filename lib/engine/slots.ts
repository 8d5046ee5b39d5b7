/**
 * Execution slots: at most `jobs` stages execute at once, stages that share a
 * mutex group never overlap, and a stage in group `"*"` runs alone.
 *
 * @module
 */

import type { StageDef } from "../model/stage_def.ts";

/** The group that runs a stage alone. */
const EXCLUSIVE = "*";

/** A counting semaphore aware of mutex groups. Waiters are served in order. */
export class Slots {
  readonly #jobs: number;
  readonly #running = new Set<StageDef>();
  #waiters: { stage: StageDef; resolve: () => void }[] = [];

  /** Allow `jobs` stages at once. */
  constructor(jobs: number) {
    this.#jobs = Math.max(1, jobs);
  }

  #fits(stage: StageDef): boolean {
    if (this.#running.size >= this.#jobs) return false;
    if (this.#running.size === 0) return true;
    if (stage.mutex.includes(EXCLUSIVE)) return false;
    for (const other of this.#running) {
      if (other.mutex.includes(EXCLUSIVE)) return false;
      if (other.mutex.some((group) => stage.mutex.includes(group))) return false;
    }
    return true;
  }

  /** True when `stage` would have to wait for a slot now. */
  busy(stage: StageDef): boolean {
    return this.#waiters.length > 0 || !this.#fits(stage);
  }

  /** Wait for a slot for `stage`. */
  acquire(stage: StageDef): Promise<void> {
    return new Promise((resolve) => {
      this.#waiters.push({ stage, resolve });
      this.#pump();
    });
  }

  /** Give back `stage`'s slot. */
  release(stage: StageDef): void {
    this.#running.delete(stage);
    this.#pump();
  }

  /** Stop waiting for `stage` (it was cancelled before it got a slot). */
  abandon(stage: StageDef): void {
    this.#waiters = this.#waiters.filter((waiter) => waiter.stage !== stage);
  }

  #pump(): void {
    // Serve in order, but let a later stage through when an earlier one only
    // waits on a mutex, so one busy group does not idle the other workers.
    // A waiting exclusive stage stops later ones from passing (no starvation).
    for (const waiter of [...this.#waiters]) {
      if (!this.#fits(waiter.stage)) {
        if (waiter.stage.mutex.includes(EXCLUSIVE)) break;
        continue;
      }
      this.#waiters.splice(this.#waiters.indexOf(waiter), 1);
      this.#running.add(waiter.stage);
      waiter.resolve();
    }
  }
}
