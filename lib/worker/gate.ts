/**
 * The gate a stage worker waits at between runs. When a run is over (its
 * outs saved, or it failed), the worker reports it and then blocks its thread
 * on the gate with `Atomics.wait`: no JavaScript of the worker runs, so
 * nothing the stage left behind (a timer, an unawaited promise) can touch its
 * outs while the engine checks, hashes and moves them. The engine then opens
 * the gate (the worker goes back to its event loop, ready for the next run)
 * or retires the worker.
 *
 * Deno's `Worker.terminate()` does not interrupt a thread blocked in
 * `Atomics.wait`, and a blocked worker keeps the process from exiting: a
 * retired worker is terminated first and then woken with {@link RETIRE}, on
 * which it closes itself before any of the stage's code can run again.
 *
 * @module
 */

/** The gate is closed: the worker waits (or runs). */
const CLOSED = 0;
/** Go back to the event loop. */
const RELEASE = 1;
/** Close the worker. */
const RETIRE = 2;

/** The engine's side of a worker's gate. */
export class Gate {
  /** Shared with the worker (sent once, when it starts). */
  readonly buffer: SharedArrayBuffer = new SharedArrayBuffer(4);
  readonly #state = new Int32Array(this.buffer);

  /** Let a waiting worker go on. */
  release(): void {
    Atomics.store(this.#state, 0, RELEASE);
    Atomics.notify(this.#state, 0);
  }

  /** Make the worker close itself when it wakes (or as soon as it waits). */
  retire(): void {
    Atomics.store(this.#state, 0, RETIRE);
    Atomics.notify(this.#state, 0);
  }
}

/**
 * The worker's side: block this thread until the engine releases it
 * (returns true) or retires it (returns false: close the worker, run
 * nothing more).
 *
 * @example
 * ```ts ignore
 * if (!waitAtGate(buffer)) self.close();
 * ```
 */
export function waitAtGate(buffer: SharedArrayBuffer): boolean {
  const state = new Int32Array(buffer);
  Atomics.wait(state, 0, CLOSED);
  if (Atomics.load(state, 0) === RETIRE) return false;
  Atomics.store(state, 0, CLOSED);
  return true;
}
