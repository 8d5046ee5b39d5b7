/**
 * Events the engine emits while it works. Sinks (console, JSON Lines, RPC
 * subscribers) consume them; nothing else reports progress.
 *
 * @module
 */

import type { Listener } from "../events.ts";

/** How a stage ended in a wave (SPEC §6). */
export type StageStatus = "ran" | "skipped" | "restored" | "failed" | "blocked" | "cancelled";

/** Why a stage will run (SPEC §6). */
export type Reason =
  | "never-run"
  | "code"
  | "params"
  | "deps"
  | "outs-missing"
  | "upstream"
  | "forced";

/** The last event of a wave, with counts. */
export interface SummaryEvent {
  /** Discriminant. */
  readonly type: "summary";
  /** Stages that ran. */
  readonly ran: number;
  /** Stages up to date. */
  readonly skipped: number;
  /** Stages whose outs came from the cache. */
  readonly restored: number;
  /** Stages that failed. */
  readonly failed: number;
  /** Stages not run because of a failure. */
  readonly blocked: number;
  /** Stages cancelled. */
  readonly cancelled: number;
  /** Wall time of the wave. */
  readonly duration_ms: number;
}

/** The outcome of one stage in a wave. */
export interface StageEvent {
  /** Discriminant. */
  readonly type: "stage";
  /** Stage name. */
  readonly stage: string;
  /** How it ended. */
  readonly status: StageStatus;
  /** Why (a {@link Reason} list joined by `,`, or what failed). */
  readonly reason: string;
  /** Time spent on it. */
  readonly duration_ms: number;
  /** Failure message, for failed stages. */
  readonly error?: string;
  /** Failed stages whose code threw: the stack, in project-relative paths (shown with `-v`). */
  readonly stack?: string;
  /**
   * What the stage left in its worker when it ended (timers, open
   * resources, changed built-ins), which is why that worker ran no other
   * stage (shown with `-v`).
   */
  readonly leftovers?: readonly string[];
}

/**
 * Watched files changed (project-relative paths), emitted by the driver
 * before it acts on them. After a code or definition change the pipeline was
 * reloaded (`reloaded`), or could not be (`error`; the previous pipeline
 * stays loaded).
 */
export interface FilesChangedEvent {
  /** Discriminant. */
  readonly type: "files-changed";
  /** Changed deps. */
  readonly data: readonly string[];
  /** Changed code and definition files. */
  readonly code: readonly string[];
  /** A new pipeline was loaded. */
  readonly reloaded: boolean;
  /** Why the reload failed. */
  readonly error?: string;
}

/** Everything the engine emits. */
export type EngineEvent =
  | {
    /** A wave begins; `stages` are those it considers. */
    readonly type: "wave-start";
    readonly stages: readonly string[];
  }
  | {
    /** A stage starts executing in a worker. */
    readonly type: "stage-start";
    readonly stage: string;
  }
  | {
    /** A line the stage printed. */
    readonly type: "log";
    readonly stage: string;
    readonly stream: "stdout" | "stderr";
    readonly text: string;
  }
  | {
    /** Something the user should know that is not a failure. */
    readonly type: "warning";
    readonly message: string;
  }
  | FilesChangedEvent
  | StageEvent
  | SummaryEvent;

/** Consumes events. */
export type EventSink = Listener<EngineEvent>;
