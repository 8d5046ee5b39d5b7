/**
 * A queue of asynchronous jobs run at most `concurrency` at a time. Jobs may
 * add jobs (a multipart upload adds its parts, ahead of other files so that a
 * started file finishes first). The first job that throws stops the queue:
 * no new job starts, and {@link WorkQueue.drain} rejects with that error once
 * the running ones have settled.
 *
 * @module
 */

/** A job: one unit of transfer work. */
export type Job = () => Promise<void>;

/** A bounded-concurrency job queue. */
export class WorkQueue {
  readonly #limit: number;
  // Two FIFO lists read from a moving head (Array.shift is O(n)).
  readonly #urgent: Job[] = [];
  #urgentHead = 0;
  readonly #normal: Job[] = [];
  #normalHead = 0;
  #running = 0;
  #failed = false;
  #error: unknown;
  #waiters: (() => void)[] = [];

  /** A queue running up to `concurrency` jobs at once. */
  constructor(concurrency: number) {
    this.#limit = Math.max(1, Math.floor(concurrency));
  }

  /** Queue `job`; with `urgent`, ahead of every non-urgent job. */
  add(job: Job, urgent = false): void {
    if (urgent) this.#urgent.push(job);
    else this.#normal.push(job);
    this.#pump();
  }

  /**
   * Wait until every job (also those added meanwhile) has finished; rejects
   * with the first error a job threw.
   *
   * @example
   * ```ts
   * import { WorkQueue } from "./work_queue.ts";
   * const queue = new WorkQueue(4);
   * let done = 0;
   * for (let i = 0; i < 10; i++) queue.add(async () => void done++);
   * await queue.drain(); // done === 10
   * ```
   */
  async drain(): Promise<void> {
    while (this.#running > 0 || (!this.#failed && this.#pending() > 0)) {
      await new Promise<void>((resolve) => this.#waiters.push(resolve));
    }
    if (this.#failed) {
      // Jobs not started are dropped with the failure.
      this.#urgent.length =
        this.#urgentHead =
        this.#normal.length =
        this.#normalHead =
          0;
      this.#failed = false;
      const error = this.#error;
      this.#error = undefined;
      throw error;
    }
  }

  /**
   * Stop the queue from outside (Ctrl-C): no new job starts, and
   * {@link WorkQueue.drain} rejects with `reason` once the running jobs have
   * settled. A job that already failed keeps its own error.
   */
  stop(reason: unknown): void {
    if (this.#failed) return;
    this.#failed = true;
    this.#error = reason;
  }

  #pending(): number {
    return this.#urgent.length - this.#urgentHead + this.#normal.length - this.#normalHead;
  }

  #next(): Job | undefined {
    if (this.#urgentHead < this.#urgent.length) {
      const job = this.#urgent[this.#urgentHead++];
      if (this.#urgentHead === this.#urgent.length) this.#urgent.length = this.#urgentHead = 0;
      return job;
    }
    if (this.#normalHead < this.#normal.length) {
      const job = this.#normal[this.#normalHead++];
      if (this.#normalHead === this.#normal.length) this.#normal.length = this.#normalHead = 0;
      return job;
    }
    return undefined;
  }

  #pump(): void {
    while (!this.#failed && this.#running < this.#limit) {
      const job = this.#next();
      if (!job) break;
      this.#running++;
      job().catch((error) => {
        if (!this.#failed) {
          this.#failed = true;
          this.#error = error;
        }
      }).finally(() => {
        this.#running--;
        this.#pump();
        if (this.#running === 0 && (this.#failed || this.#pending() === 0)) {
          const waiters = this.#waiters;
          this.#waiters = [];
          for (const wake of waiters) wake();
        }
      });
    }
  }
}
