/**
 * A typed event channel: listeners subscribe, the owner emits. One class for
 * every subsystem that reports events (the engine, the driver), as Lume's
 * `core/events.ts` does, instead of a set of listeners written again in each.
 *
 * @module
 */

/** Receives events of type `E`. */
export type Listener<E> = (event: E) => void;

/**
 * Listeners of events of type `E`, called in the order they subscribed.
 *
 * @example
 * ```ts
 * const events = new Events<{ type: "start" } | { type: "end"; ok: boolean }>();
 * const stop = events.subscribe((event) => console.log(event.type));
 * events.emit({ type: "start" }); // logs "start"
 * stop();
 * ```
 */
export class Events<E> {
  readonly #listeners = new Set<Listener<E>>();

  /** Add `listener`; returns a function that removes it. */
  subscribe(listener: Listener<E>): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Call every listener with `event`. */
  emit(event: E): void {
    for (const listener of this.#listeners) listener(event);
  }
}
