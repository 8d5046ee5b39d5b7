/**
 * Messages between the engine (main thread) and stage workers.
 *
 * @module
 */

import type { LoaderSpec } from "../model/loader_spec.ts";
import type { ReturnedFiles } from "../model/returned_files.ts";
import type { CodeRef } from "../model/stage_def.ts";

/** A dep or out as the worker sees it: its staged path. */
export interface StagedArtifact {
  /** Key in the stage's deps or outs. */
  readonly name: string;
  /** Absolute path inside the worker's staging area. */
  readonly path: string;
  /** The built-in loader (used when the run function is a plain export). */
  readonly loader: LoaderSpec | undefined;
  /** Outs only: written by the stage itself. */
  readonly selfWritten?: boolean;
}

/** Main → worker: run one stage. */
export interface RunRequest {
  /** Discriminant. */
  readonly type: "run";
  /** Run id, echoed in replies. */
  readonly id: number;
  /** Full stage name. */
  readonly stage: string;
  /** Pipeline name (to find the stage in the imported module). */
  readonly pipeline: string;
  /** Where the run function is. */
  readonly code: CodeRef;
  /** Deps to load. */
  readonly deps: readonly StagedArtifact[];
  /** Outs to save. */
  readonly outs: readonly StagedArtifact[];
  /** Resolved params. */
  readonly params: Readonly<Record<string, unknown>>;
  /** Variant name. */
  readonly variant: string | undefined;
  /** Scratch directory. */
  readonly tmpDir: string;
  /**
   * The files of each `loaders.files()` dep, by dep name, read by the
   * engine outside the sandbox: the stage receives them instead of its
   * loader reading the directory.
   */
  readonly files?: Readonly<Record<string, ReturnedFiles>>;
}

/** Main → worker: abort the running stage's signal. */
export interface CancelRequest {
  /** Discriminant. */
  readonly type: "cancel";
  /** Run id. */
  readonly id: number;
}

/** Main → worker, first: the gate the worker waits at between runs (`gate.ts`). */
export interface InitRequest {
  /** Discriminant. */
  readonly type: "init";
  /** The gate's shared memory. */
  readonly gate: SharedArrayBuffer;
}

/**
 * Main → worker: import these modules now (a worker made ahead of need for
 * the stages of a retired one), so its first run does not wait for them.
 */
export interface PreloadRequest {
  /** Discriminant. */
  readonly type: "preload";
  /** Module URLs. */
  readonly urls: readonly string[];
}

/** Anything the main thread sends. */
export type ToWorker = InitRequest | PreloadRequest | RunRequest | CancelRequest;

/** A thrown error, made cloneable. */
export interface ErrorInfo {
  /** Error class name (`NotCapable`, `TypeError`, …). */
  readonly name: string;
  /** Message. */
  readonly message: string;
  /** Stack trace, if any. */
  readonly stack: string | undefined;
  /** The dep or out (its key) being loaded or saved when it was thrown, if any. */
  readonly artifact?: string;
}

/** Worker → main. */
export type FromWorker =
  | {
    /** A line of the stage's console output. */
    readonly type: "log";
    readonly id: number;
    readonly stream: "stdout" | "stderr";
    readonly text: string;
  }
  | {
    /** The stage finished and its outs are saved. */
    readonly type: "done";
    readonly id: number;
    /**
     * The files of each `loaders.files()` out, by out name, as the stage
     * returned them (checked, encoded): the engine writes them.
     */
    readonly files?: Readonly<Record<string, ReturnedFiles>>;
  }
  | {
    /** The stage threw (or a dep/out could not be loaded/saved). */
    readonly type: "failed";
    readonly id: number;
    readonly error: ErrorInfo;
    /** Which phase failed. */
    readonly phase: "import" | "load" | "run" | "save";
    /**
     * Set when the error was not thrown by the run function but escaped
     * from work it started (a timer's callback, a promise nobody awaited):
     * the worker then waits to be retired.
     */
    readonly uncaught?: "error" | "rejection";
  }
  | {
    /**
     * After `done` or `failed`: what the run left behind (timers, open
     * resources, changed globals); the worker then waits at its gate.
     */
    readonly type: "verdict";
    readonly id: number;
    /** One description each; empty when the worker is as it was. */
    readonly leftovers: readonly string[];
  }
  | {
    /** The stage called `Deno.exit()`, `process.exit()` or `self.close()`; the worker waits to be retired. */
    readonly type: "exited";
    readonly id: number;
    /** The call as written (`Deno.exit(3)`). */
    readonly call: string;
    /** The exit code it asked for. */
    readonly code: number | undefined;
    /** Where it was called. */
    readonly stack: string | undefined;
  }
  | {
    /**
     * An error escaped (or an exit was called) from work a stage left
     * running after its run ended (`id` is that run's); the worker waits to
     * be retired.
     */
    readonly type: "stray";
    readonly id: number;
    readonly error: ErrorInfo;
  };
