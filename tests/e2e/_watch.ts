/**
 * A `pivot repro --watch --json` child process for end-to-end tests, with
 * bounded waits on its event stream. `await using w = WatchProcess.start(…)`
 * stops it (Ctrl-C, then SIGKILL if it lingers) however the test ends.
 *
 * @module
 */

import type { JsonEvent } from "../_project.ts";
import { spawnPivot } from "../_project.ts";
import { testSignal } from "../_harness.ts";

/** A running watch session. */
export class WatchProcess implements AsyncDisposable {
  readonly #child: Deno.ChildProcess;
  readonly events: JsonEvent[] = [];
  stderr = "";
  #waiters: (() => void)[] = [];
  readonly #done: Promise<void>;

  private constructor(child: Deno.ChildProcess) {
    this.#child = child;
    this.#done = Promise.all([this.#readStdout(), this.#readStderr()]).then(() => {});
  }

  /** Follow a watch process started some other way (e.g. from JSR), with piped output. */
  static attach(child: Deno.ChildProcess): WatchProcess {
    return new WatchProcess(child);
  }

  /** Start `pivot repro --watch --json ARGS` in `cwd`. */
  static start(cwd: string, ...args: string[]): WatchProcess {
    return new WatchProcess(
      spawnPivot(cwd, ["repro", "--watch", "--json", "--debounce", "100", ...args]),
    );
  }

  async #readStdout(): Promise<void> {
    let buffer = "";
    for await (const chunk of this.#child.stdout.pipeThrough(new TextDecoderStream())) {
      buffer += chunk;
      let newline = buffer.indexOf("\n");
      while (newline >= 0) {
        const line = buffer.slice(0, newline);
        buffer = buffer.slice(newline + 1);
        if (line.trim()) this.events.push(JSON.parse(line));
        newline = buffer.indexOf("\n");
      }
      this.#notify();
    }
  }

  async #readStderr(): Promise<void> {
    for await (const chunk of this.#child.stderr.pipeThrough(new TextDecoderStream())) {
      this.stderr += chunk;
      this.#notify();
    }
  }

  #notify(): void {
    const waiters = this.#waiters;
    this.#waiters = [];
    for (const wake of waiters) wake();
  }

  /** Summaries seen so far. */
  get summaries(): JsonEvent[] {
    return this.events.filter((e) => e.type === "summary");
  }

  /**
   * Wait until `condition` holds (checked on every new output), or fail
   * after `ms` or when the test runs out of time.
   */
  async until(condition: () => boolean, what: string, ms = 15_000): Promise<void> {
    const deadline = Date.now() + ms;
    const signal = testSignal();
    while (!condition()) {
      signal.throwIfAborted();
      const left = deadline - Date.now();
      if (left <= 0) {
        throw new Error(
          `timed out waiting for ${what}\nevents: ${
            JSON.stringify(this.events)
          }\nstderr: ${this.stderr}`,
        );
      }
      await new Promise<void>((resolve) => {
        const wake = () => {
          clearTimeout(timer);
          signal.removeEventListener("abort", wake);
          resolve();
        };
        const timer = setTimeout(wake, Math.min(left, 200));
        signal.addEventListener("abort", wake);
        this.#waiters.push(wake);
      });
    }
  }

  /** Wait for the `n`th summary (1-based) and return the stage events of that wave. */
  async wave(n: number): Promise<JsonEvent[]> {
    await this.until(() => this.summaries.length >= n, `wave ${n}`);
    const summaryIndexes = this.events.flatMap((e, i) => e.type === "summary" ? [i] : []);
    const start = n === 1 ? 0 : summaryIndexes[n - 2] + 1;
    return this.events.slice(start, summaryIndexes[n - 1]).filter((e) => e.type === "stage");
  }

  /** Stages that ran in wave `n`, sorted. */
  async ranIn(n: number): Promise<string[]> {
    return (await this.wave(n)).filter((e) => e.status === "ran").map((e) => e.stage!).sort();
  }

  /** Give the watcher time to see nothing, then check no new wave started. */
  async quietFor(ms: number): Promise<void> {
    const before = this.events.length;
    await new Promise((resolve) => setTimeout(resolve, ms));
    if (this.events.length !== before) {
      throw new Error(`expected no events, got ${JSON.stringify(this.events.slice(before))}`);
    }
  }

  /** Send SIGINT and wait for the exit code. */
  async interrupt(): Promise<number> {
    try {
      this.#child.kill("SIGINT");
    } catch {
      // already gone
    }
    const status = await this.#child.status;
    await this.#done;
    return status.code;
  }

  /** Send SIGINT; SIGKILL if the process has not exited within 10 s. */
  async [Symbol.asyncDispose](): Promise<void> {
    let timer: ReturnType<typeof setTimeout> | undefined;
    const lingering = new Promise<"lingering">((resolve) => {
      timer = setTimeout(() => resolve("lingering"), 10_000);
    });
    try {
      const outcome = await Promise.race([this.interrupt(), lingering]);
      if (outcome === "lingering") await this.kill();
    } catch {
      await this.kill();
    } finally {
      clearTimeout(timer);
    }
  }

  /** Kill without ceremony (cleanup after a failed test). */
  async kill(): Promise<void> {
    try {
      this.#child.kill("SIGKILL");
    } catch {
      // already gone
    }
    await this.#child.status;
    await this.#done.catch(() => {});
  }
}
