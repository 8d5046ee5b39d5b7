/**
 * Keeps the UI's {@link LiveState} in step with a driver: the UI is one more
 * sink of the engine's event stream, and predicts (as `status` does) what
 * each stage would do whenever that may have changed — at start, after each
 * wave, after watched files change, and when lock files change under
 * `.pivot/stages/` (another `pivot repro` in a terminal, say).
 *
 * Predictions are never made while a wave runs: they would race the wave
 * (which writes the lock files they read), and the wave's own events say
 * more. One asked for during a wave is made when it ends.
 *
 * @module
 */

import { join } from "node:path";
import type { Driver } from "../engine/driver.ts";
import type { EngineEvent } from "../engine/events.ts";
import { predictStatus } from "../engine/plan.ts";
import { messageOf } from "../errors.ts";
import { LiveState, type ProjectFacts } from "./live_state.ts";
import type { UiMessage } from "./protocol.ts";

/** How long lock-file changes must settle before predicting again (ms). */
const LOCKS_SETTLE_MS = 150;

/** A live state fed by `driver`. Call {@link Feed.close} when done. */
export class Feed {
  /** The state every page sees. */
  readonly state: LiveState;
  readonly #driver: Driver;
  readonly #unsubscribe: () => void;
  #predicting: Promise<void> | undefined;
  #again = false;
  #waves = 0;
  #lockWatcher: Deno.FsWatcher | undefined;
  #lockTimer: ReturnType<typeof setTimeout> | undefined;
  #closed = false;

  /** Feed a new state from `driver`; `send` receives every change. */
  constructor(driver: Driver, facts: ProjectFacts, send: (message: UiMessage) => void) {
    this.#driver = driver;
    this.state = new LiveState(facts, driver.context.graph, send);
    this.#unsubscribe = driver.subscribe((event) => this.#onEvent(event));
    this.#watchLocks();
  }

  /**
   * Predict every stage's status now (or after the running wave). Resolves
   * when the state holds a prediction at least as recent as this call.
   */
  refresh(): Promise<void> {
    if (this.#predicting) {
      this.#again = true;
      return this.#predicting;
    }
    if (this.#driver.busy) {
      this.#again = true;
      return Promise.resolve();
    }
    this.#predicting = this.#predict().finally(() => {
      this.#predicting = undefined;
      if (this.#again && !this.#closed) {
        this.#again = false;
        this.refresh();
      }
    });
    return this.#predicting;
  }

  async #predict(): Promise<void> {
    const waves = this.#waves;
    const context = this.#driver.context;
    try {
      const decisions = await predictStatus(context, context.graph.order);
      // A wave started meanwhile: its events are newer than this prediction.
      if (waves !== this.#waves || context !== this.#driver.context || this.#closed) {
        this.#again = true;
        return;
      }
      this.state.predict(decisions);
    } catch (error) {
      this.state.setProblem(`could not work out stage statuses: ${messageOf(error)}`);
    }
  }

  #onEvent(event: EngineEvent): void {
    if (event.type === "wave-start") this.#waves++;
    if (event.type === "files-changed" && event.reloaded) {
      this.state.reload(this.#driver.context.graph);
    }
    this.state.apply(event);
    if (event.type === "summary" || event.type === "files-changed") {
      // After the summary the driver marks itself idle, and after a change it
      // may start a wave: decide once it has done either.
      setTimeout(() => this.refresh(), 0);
    }
  }

  /** Lock files written by another process change what is up to date. */
  #watchLocks(): void {
    const dir = join(this.#driver.context.project.pivotDir, "stages");
    try {
      Deno.mkdirSync(dir, { recursive: true });
      this.#lockWatcher = Deno.watchFs(dir, { recursive: true });
    } catch {
      return; // not watchable: statuses still follow this process's waves and file changes
    }
    (async () => {
      try {
        for await (const _ of this.#lockWatcher!) {
          clearTimeout(this.#lockTimer);
          this.#lockTimer = setTimeout(() => this.refresh(), LOCKS_SETTLE_MS);
        }
      } catch {
        // closed
      }
    })();
  }

  /** Stop following the driver. */
  close(): void {
    this.#closed = true;
    this.#unsubscribe();
    clearTimeout(this.#lockTimer);
    try {
      this.#lockWatcher?.close();
    } catch {
      // already closed
    }
  }
}
