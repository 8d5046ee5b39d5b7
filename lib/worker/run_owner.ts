/**
 * Which run the code running now belongs to. Each run's code is started in
 * an async context of its own (Deno carries it through promise
 * continuations, awaited operations and timers), so an error that escapes
 * later, from work a stage left running, can be blamed on the run that
 * started it rather than on whichever run is active when it surfaces.
 *
 * Uses Deno's `AsyncVariable` (`Deno[Deno.internal].core`, what
 * `AsyncLocalStorage` is built on; importing `node:async_hooks` would load
 * Node compatibility, ~40 ms a worker). Without it every lookup answers
 * `undefined` and errors are blamed on the active run.
 *
 * Deno does not reset the context between tasks: a run's context must be
 * left explicitly ({@link RunOwner.leave}).
 *
 * @module
 */

interface AsyncVariable {
  enter(value: unknown): unknown;
  get(): unknown;
}

interface Core {
  AsyncVariable?: new () => AsyncVariable;
  getAsyncContext?: () => unknown;
  setAsyncContext?: (context: unknown) => void;
}

const core: Core | undefined = (() => {
  const internal = (Deno as unknown as { internal?: symbol }).internal;
  if (internal === undefined) return undefined;
  return (Deno as unknown as Record<symbol, { core?: Core } | undefined>)[internal]?.core;
})();

/**
 * The run that owns the code running now.
 *
 * @example
 * ```ts ignore
 * const owner = new RunOwner();
 * owner.enter(7);
 * await work();          // owner.current() === 7 here, and in work()'s callbacks
 * owner.leave();
 * ```
 */
export class RunOwner {
  readonly #variable: AsyncVariable | undefined;
  readonly #root: unknown;

  constructor() {
    const make = core?.AsyncVariable;
    const works = make !== undefined && core?.getAsyncContext !== undefined &&
      core?.setAsyncContext !== undefined;
    this.#variable = works ? new make() : undefined;
    this.#root = works ? core!.getAsyncContext!() : undefined;
  }

  /** Code from here on (and what it schedules) belongs to run `id`. */
  enter(id: number): void {
    this.#variable?.enter(id);
  }

  /** Back to no run (the context the worker started in). */
  leave(): void {
    if (this.#variable !== undefined) core!.setAsyncContext!(this.#root);
  }

  /** The run the running code belongs to, if known. */
  current(): number | undefined {
    const value = this.#variable?.get();
    return typeof value === "number" ? value : undefined;
  }
}
