/**
 * Messages between the engine (main thread) and stage workers.
 *
 * @module
 */

import type { LoaderSpec } from "../model/loader_spec.ts";
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
}

/** Main → worker: abort the running stage's signal. */
export interface CancelRequest {
  /** Discriminant. */
  readonly type: "cancel";
  /** Run id. */
  readonly id: number;
}

/** Anything the main thread sends. */
export type ToWorker = RunRequest | CancelRequest;

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
  }
  | {
    /** The stage threw (or a dep/out could not be loaded/saved). */
    readonly type: "failed";
    readonly id: number;
    readonly error: ErrorInfo;
    /** Which phase failed. */
    readonly phase: "import" | "load" | "run" | "save";
  };
