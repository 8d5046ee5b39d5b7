/**
 * What a stage leaves running when its run ends: timers and intervals it
 * did not clear, resources (files, message ports, sockets…) it did not close,
 * immediates still queued. Any of them can run code later, in the same
 * worker, while another stage runs: a worker whose stage left something is
 * never given another stage (see `docs/isolation.md`).
 *
 * Deno offers no public way to list a worker's pending work, so this uses
 * what it can reach:
 *
 * - Timers: every timer in Deno 2.9 (global `setTimeout`/`setInterval`,
 *   `node:timers`, `AbortSignal.timeout`) is a Node-style `Timeout` object
 *   whose constructor calls a method of its prototype; wrapping that method
 *   sees each timer made, and its `_destroyed` flag says whether it is still
 *   pending. The prototype is only reachable from a timer, and the first
 *   access to the global `setTimeout` loads Node compatibility (about 40 ms),
 *   so the wrapper is installed the first time a stage reads `setTimeout` or
 *   `setInterval`, not before.
 * - Resources and immediates: `Deno[Deno.internal].core` (`resources()`,
 *   `getActiveImmediateCount()`), which Deno keeps for its own tools.
 *
 * Each part is skipped when the runtime does not have it (another Deno
 * version): what cannot be seen is then not reported. Pending one-shot
 * operations (an unawaited `Deno.writeTextFile`) hold no timer, and a
 * resource only while they run: they are not seen; the worker's run
 * directories (`staging.ts`) keep what they write away from other stages.
 *
 * @module
 */

/** A Node-style timer as Deno 2.9 makes it. */
interface Timeout {
  readonly _destroyed?: boolean;
  _onTimeout?: unknown;
}

/** The parts of Deno's internal core this module uses, when present. */
interface CoreInternals {
  resources?: () => Record<string, string>;
  getActiveImmediateCount?: () => number;
}

const core: CoreInternals | undefined = (() => {
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (internal === undefined) return undefined;
  const inner = (Deno as unknown as Record<symbol, { core?: CoreInternals } | undefined>)[internal];
  return inner?.core;
})();

/** The worker's open resources: name by resource id. */
function openResources(): Record<string, string> {
  return typeof core?.resources === "function" ? core.resources() : {};
}

/**
 * Watches one worker's runs: call {@link LeftoverWatch.begin} when a stage's
 * code starts and {@link LeftoverWatch.end} when its run is over.
 *
 * @example
 * ```ts ignore
 * const watch = new LeftoverWatch();
 * watch.install();
 * watch.begin();
 * setInterval(() => {}, 1000);
 * watch.end(); // ["1 timer (setTimeout/setInterval) still pending"]
 * ```
 */
export class LeftoverWatch {
  readonly #owner: () => number | undefined;
  /** The last error a timer's callback threw, and the run that made the timer. */
  #thrown: { error: unknown; run: number | undefined } | undefined;
  #timers: Set<Timeout> | undefined;
  /** Resource ids open when the run began; undefined until it began. */
  #resourcesBefore: Set<string> | undefined;
  #internalTimer = 0;

  /** A watch that asks `owner` which run the running code belongs to (see `run_owner.ts`). */
  constructor(owner: () => number | undefined = () => undefined) {
    this.#owner = owner;
  }

  /**
   * Wrap the global timer getters so that timers are watched once a stage
   * uses them. Call once, before any stage code is imported.
   */
  install(): void {
    for (const name of ["setTimeout", "setInterval"] as const) {
      const descriptor = Object.getOwnPropertyDescriptor(globalThis, name);
      const get = descriptor?.get;
      if (get === undefined) {
        // Not a lazy getter here: the timers exist already.
        this.#hookTimers();
        continue;
      }
      Object.defineProperty(globalThis, name, {
        ...descriptor,
        get: () => {
          const value = get.call(globalThis);
          this.#hookTimers();
          return value;
        },
      });
    }
    // `AbortSignal.timeout()` makes a timer the signal owns: not a leftover.
    const timeout = AbortSignal.timeout;
    AbortSignal.timeout = (ms: number) => {
      this.#internalTimer++;
      try {
        return timeout.call(AbortSignal, ms);
      } finally {
        this.#internalTimer--;
      }
    };
  }

  #hooked = false;

  #hookTimers(): void {
    if (this.#hooked) return;
    this.#hooked = true;
    const probe = setTimeout(() => {}, 0x7fffffff);
    clearTimeout(probe);
    const prototype = Object.getPrototypeOf(probe) as Record<symbol, unknown> | null;
    if (prototype === null || typeof probe !== "object") return;
    const create = Object.getOwnPropertySymbols(prototype).find((symbol) =>
      symbol.description === "createTimer"
    );
    const original = create === undefined ? undefined : prototype[create];
    if (create === undefined || typeof original !== "function") return;
    // deno-lint-ignore no-this-alias
    const watch = this;
    prototype[create] = function (this: Timeout, ...args: unknown[]) {
      if (watch.#internalTimer === 0) {
        watch.#timers?.add(this);
        // Remember which run made the timer, for an error its callback
        // throws later (Deno reports it with no trace of the run).
        const callback = this._onTimeout;
        const run = watch.#owner();
        if (typeof callback === "function" && run !== undefined) {
          this._onTimeout = function (this: unknown, ...callbackArgs: unknown[]) {
            try {
              return callback.apply(this, callbackArgs);
            } catch (error) {
              watch.#thrown = { error, run };
              throw error;
            }
          };
        }
      }
      return original.apply(this, args);
    };
  }

  /** The run whose timer threw `error`, if a timer's callback threw it. */
  thrownBy(error: unknown): number | undefined {
    const thrown = this.#thrown;
    return thrown !== undefined && thrown.error === error ? thrown.run : undefined;
  }

  /** A stage's code is about to run. */
  begin(): void {
    this.#timers = new Set();
    this.#resourcesBefore = new Set(Object.keys(openResources()));
  }

  /**
   * The run is over: what it left, one description each (empty when
   * nothing). Stops watching.
   */
  end(): string[] {
    const before = this.#resourcesBefore;
    this.#resourcesBefore = undefined;
    const timers = [...this.#timers ?? []].filter((timer) => timer._destroyed === false).length;
    this.#timers = undefined;
    // A run whose code never started (its module failed to load) left nothing of its own.
    if (before === undefined) return [];
    const left: string[] = [];
    if (timers > 0) {
      left.push(`${timers} timer${timers === 1 ? "" : "s"} (setTimeout/setInterval) still pending`);
    }
    const immediates = core?.getActiveImmediateCount?.() ?? 0;
    if (immediates > 0) left.push(`${immediates} setImmediate callback(s) still queued`);
    const open = openResources();
    const opened = Object.keys(open).filter((rid) => !before.has(rid)).map((rid) => open[rid]);
    if (opened.length > 0) {
      left.push(`${opened.length} resource(s) still open (${[...new Set(opened)].join(", ")})`);
    }
    return left;
  }
}
