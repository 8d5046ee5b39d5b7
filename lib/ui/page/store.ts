/**
 * The page's copy of the server's state, kept current by the event stream
 * (`GET /api/events`, server-sent events). The server is the one source of
 * truth: the stream starts with a snapshot (again after every reconnection)
 * and then carries each change, so every tab shows the same thing.
 *
 * @module
 */

import { useEffect, useState } from "preact/hooks";
import type { LogLine, Snapshot, StageState, UiEnvelope, WaveInfo } from "../protocol.ts";

/** What the page renders from. */
export interface PageState {
  /** The event stream is open. */
  readonly connected: boolean;
  /** The pipeline, once the first snapshot arrived. */
  readonly snapshot: Snapshot | undefined;
  /** Each stage's state. */
  readonly states: Readonly<Record<string, StageState>>;
  /** The current or last wave. */
  readonly wave: WaveInfo;
  /** Why the pipeline on disk cannot be loaded. */
  readonly problem: string | undefined;
  /** Recent warnings, newest last. */
  readonly warnings: readonly { readonly id: number; readonly message: string }[];
}

/** Receives log lines of the stages it asked for, with the message's sequence number. */
export type LogListener = (lines: readonly LogLine[], seq: number) => void;

const WARNINGS_KEPT = 5;

/** The page's state and its subscribers. */
export class Store {
  #state: PageState = {
    connected: false,
    snapshot: undefined,
    states: {},
    wave: { running: false, total: 0, done: 0 },
    problem: undefined,
    warnings: [],
  };
  readonly #listeners = new Set<() => void>();
  readonly #logListeners = new Map<string, Set<LogListener>>();
  #source: EventSource | undefined;
  #warningId = 0;
  #scheduled = false;

  /** The state now. */
  get state(): PageState {
    return this.#state;
  }

  /** Open the event stream (the browser reconnects by itself when it drops). */
  connect(url = "/api/events"): void {
    const source = new EventSource(url);
    this.#source = source;
    source.onopen = () => this.#set({ connected: true });
    source.onerror = () => this.#set({ connected: false });
    source.onmessage = (event: MessageEvent<string>) => {
      this.apply(JSON.parse(event.data) as UiEnvelope);
    };
  }

  /** Close the event stream. */
  disconnect(): void {
    this.#source?.close();
  }

  /** Take one message of the stream into account. */
  apply(message: UiEnvelope): void {
    switch (message.type) {
      case "snapshot":
        // Marks for anyone profiling the page (and bench/ui_speed.ts).
        performance.mark("pivot-snapshot");
        this.#set({
          connected: true,
          snapshot: message.snapshot,
          states: message.snapshot.states,
          wave: message.snapshot.wave,
          problem: message.snapshot.problem,
        });
        break;
      case "states":
        this.#set({ states: { ...this.#state.states, ...message.states } });
        break;
      case "wave":
        this.#set({ wave: message.wave });
        break;
      case "problem":
        this.#set({ problem: message.problem ?? undefined });
        break;
      case "warning":
        this.#set({
          warnings: [...this.#state.warnings, { id: ++this.#warningId, message: message.message }]
            .slice(-WARNINGS_KEPT),
        });
        break;
      case "log": {
        const byStage = new Map<string, LogLine[]>();
        for (const { stage, stream, text } of message.lines) {
          if (!this.#logListeners.has(stage)) continue;
          let lines = byStage.get(stage);
          if (!lines) byStage.set(stage, lines = []);
          lines.push({ stream, text });
        }
        for (const [stage, lines] of byStage) {
          for (const listener of this.#logListeners.get(stage) ?? []) listener(lines, message.seq);
        }
        break;
      }
    }
  }

  /** Drop a warning from the list. */
  dismissWarning(id: number): void {
    this.#set({ warnings: this.#state.warnings.filter((w) => w.id !== id) });
  }

  /** Call `listener` on every change; returns a function that stops it. */
  subscribe(listener: () => void): () => void {
    this.#listeners.add(listener);
    return () => this.#listeners.delete(listener);
  }

  /** Receive `stage`'s log lines as they come; returns a function that stops it. */
  onLog(stage: string, listener: LogListener): () => void {
    let listeners = this.#logListeners.get(stage);
    if (!listeners) this.#logListeners.set(stage, listeners = new Set());
    listeners.add(listener);
    return () => {
      listeners.delete(listener);
      if (listeners.size === 0) this.#logListeners.delete(stage);
    };
  }

  #set(patch: Partial<PageState>): void {
    this.#state = { ...this.#state, ...patch };
    // One render per frame, however many messages arrive in it: a wave of
    // 176 stages sends some 700.
    if (this.#scheduled) return;
    this.#scheduled = true;
    const notify = () => {
      this.#scheduled = false;
      for (const listener of this.#listeners) listener();
    };
    if (typeof requestAnimationFrame === "function") requestAnimationFrame(notify);
    else setTimeout(notify, 0);
  }
}

/** The page's store. */
export const store: Store = new Store();

/** The store's state, re-rendering the component on every change. */
export function usePageState(): PageState {
  const [state, setState] = useState(store.state);
  useEffect(() => {
    setState(store.state);
    return store.subscribe(() => setState(store.state));
  }, []);
  return state;
}

/**
 * The time now, ticking every `ms` while `active` (for elapsed times of
 * running stages); frozen otherwise.
 */
export function useNow(active: boolean, ms = 250): number {
  const [now, setNow] = useState(Date.now());
  useEffect(() => {
    if (!active) return;
    setNow(Date.now());
    const timer = setInterval(() => setNow(Date.now()), ms);
    return () => clearInterval(timer);
  }, [active, ms]);
  return now;
}
