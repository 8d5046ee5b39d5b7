/**
 * Warm stage workers.
 *
 * Creating a Web Worker costs ~14 ms of CPU here, and Deno fixes a worker's
 * permissions at creation, so one worker per stage (with that stage's paths)
 * would cost more than the stages themselves. Instead each worker owns a
 * staging area (`staging.ts`: its deps linked in, its outs and scratch files
 * written there) and may read and write only there, plus a stage's declared
 * extras and the pipeline's code. A write anywhere else, or a read of an
 * undeclared file, fails with `NotCapable`. Workers are reused for any stage
 * whose extra permissions (net, env, run, ffi, sys, read) are the same; a
 * worker that crashed or was terminated is dropped and replaced.
 *
 * @module
 */

import { join } from "node:path";
import type { ResolvedPermissions } from "../model/stage_def.ts";
import type { ErrorInfo, FromWorker, RunRequest, ToWorker } from "./protocol.ts";
import { createStaging, resetStaging, type RunDirs } from "./staging.ts";

/** How a run ended. */
export type RunOutcome =
  | { readonly status: "done" }
  | {
    readonly status: "failed";
    readonly error: ErrorInfo;
    readonly phase: "import" | "load" | "run" | "save" | "worker";
  }
  | { readonly status: "cancelled" };

/** A line of stage output. */
export type LogSink = (stream: "stdout" | "stderr", text: string) => void;

/** Code every worker may load. */
export interface CodeAccess {
  /** Absolute paths to allow reading. */
  readonly read: readonly string[];
  /** Hosts to allow importing from. */
  readonly importHosts: readonly string[];
}

/** Options of {@link WorkerPool}. */
export interface PoolOptions {
  /** Directory under which each worker gets its staging area. */
  readonly stagingRoot: string;
  /**
   * What every worker may read (the pipeline's local module files: dynamic
   * `import()` needs read access) and import from (remote module hosts).
   * Asked once, when the first worker is created: a run that executes no
   * stage never computes it.
   */
  readonly codeAccess: () => Promise<CodeAccess>;
  /** How long a cancelled stage may take to stop before its worker is terminated (ms). */
  readonly graceMs: number;
}

const WORKER_URL = new URL("./worker_main.ts", import.meta.url);

let workerCounter = 0;

/** One warm worker with its staging area. */
export class StageWorker {
  /** Staging area root. */
  readonly root: string;
  /** Permission profile key. */
  readonly profile: string;
  /** Its staging directories, the same for every run. */
  readonly dirs: RunDirs;
  readonly #worker: Worker;
  #current:
    | { id: number; resolve: (outcome: RunOutcome) => void; log: LogSink }
    | undefined;
  #dead = false;

  constructor(root: string, profile: string, permissions: Deno.PermissionOptionsObject) {
    this.root = root;
    this.profile = profile;
    this.dirs = createStaging(root);
    this.#worker = new Worker(WORKER_URL, { type: "module", deno: { permissions } });
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
    this.#worker.onerror = (event) => {
      // An error that escaped the stage (say, an unawaited rejection) kills
      // the worker; fail the run rather than the whole process.
      event.preventDefault();
      this.#finish({
        status: "failed",
        phase: "worker",
        error: { name: "Error", message: event.message, stack: undefined },
      });
      this.terminate();
    };
  }

  /** False once terminated or crashed. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** Make the staging area ready for the next run (see {@link resetStaging}). */
  resetDirs(links: readonly string[], clean: boolean): void {
    resetStaging(this.dirs, links, clean);
  }

  /** Run a stage; `signal` cancels it (after the grace period, the worker is terminated). */
  run(
    request: Omit<RunRequest, "type" | "id">,
    log: LogSink,
    signal: AbortSignal | undefined,
    graceMs: number,
  ): Promise<RunOutcome> {
    const id = ++workerCounter;
    return new Promise((resolve) => {
      if (this.#dead) {
        resolve({
          status: "failed",
          phase: "worker",
          error: { name: "Error", message: "worker is gone", stack: undefined },
        });
        return;
      }
      let timer: ReturnType<typeof setTimeout> | undefined;
      const onAbort = () => {
        this.#post({ type: "cancel", id });
        timer = setTimeout(() => {
          this.#finish({ status: "cancelled" });
          this.terminate();
        }, graceMs);
      };
      this.#current = {
        id,
        log,
        resolve: (outcome) => {
          clearTimeout(timer);
          signal?.removeEventListener("abort", onAbort);
          resolve(
            signal?.aborted && outcome.status === "failed" ? { status: "cancelled" } : outcome,
          );
        },
      };
      signal?.addEventListener("abort", onAbort, { once: true });
      this.#post({ type: "run", id, ...request });
      if (signal?.aborted) onAbort();
    });
  }

  #post(message: ToWorker): void {
    if (!this.#dead) this.#worker.postMessage(message);
  }

  #receive(message: FromWorker): void {
    const current = this.#current;
    if (!current || message.id !== current.id) return;
    if (message.type === "log") current.log(message.stream, message.text);
    else if (message.type === "done") this.#finish({ status: "done" });
    else this.#finish({ status: "failed", error: message.error, phase: message.phase });
  }

  #finish(outcome: RunOutcome): void {
    const current = this.#current;
    this.#current = undefined;
    current?.resolve(outcome);
  }

  /** Stop the worker now. */
  terminate(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#worker.terminate();
    this.#finish({ status: "cancelled" });
  }
}

/** Permission-profile key of a stage's extra permissions. */
function profileOf(permissions: ResolvedPermissions): string {
  return JSON.stringify([
    [...permissions.read].sort(),
    permissions.net,
    permissions.env,
    permissions.run,
    permissions.ffi,
    permissions.sys,
  ]);
}

/** Workers kept warm, by permission profile. */
export class WorkerPool {
  readonly #options: PoolOptions;
  readonly #idle = new Map<string, StageWorker[]>();
  readonly #all = new Set<StageWorker>();
  #code: Promise<CodeAccess> | undefined;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** Options this pool was made with. */
  get options(): PoolOptions {
    return this.#options;
  }

  /** An idle worker with these permissions, or a new one. */
  async acquire(permissions: ResolvedPermissions): Promise<StageWorker> {
    const profile = profileOf(permissions);
    const idle = this.#idle.get(profile) ?? [];
    while (idle.length > 0) {
      const worker = idle.pop()!;
      if (worker.alive) return worker;
      this.#all.delete(worker);
    }
    const root = join(
      this.#options.stagingRoot,
      `w${this.#all.size}-${crypto.randomUUID().slice(0, 8)}`,
    );
    const code = await (this.#code ??= this.#options.codeAccess());
    const worker = new StageWorker(root, profile, {
      read: [root, ...code.read, ...permissions.read],
      write: [join(root, "outs"), join(root, "tmp")],
      net: permissionValue(permissions.net),
      env: permissionValue(permissions.env),
      run: permissionValue(permissions.run),
      ffi: permissionValue(permissions.ffi),
      sys: permissionValue(permissions.sys) as Deno.PermissionOptionsObject["sys"],
      import: importHosts(code.importHosts),
    });
    this.#all.add(worker);
    return worker;
  }

  /** Give a worker back for reuse. */
  release(worker: StageWorker): void {
    if (!worker.alive) {
      this.#all.delete(worker);
      return;
    }
    const idle = this.#idle.get(worker.profile) ?? [];
    idle.push(worker);
    this.#idle.set(worker.profile, idle);
  }

  /** Terminate every worker and remove the staging areas. */
  async close(): Promise<void> {
    for (const worker of this.#all) worker.terminate();
    this.#all.clear();
    this.#idle.clear();
    await Deno.remove(this.#options.stagingRoot, { recursive: true }).catch(() => {});
  }
}

function importHosts(hosts: readonly string[]): false | string[] {
  const all = new Set(hosts);
  if (WORKER_URL.protocol !== "file:") all.add(WORKER_URL.host);
  return all.size > 0 ? [...all] : false;
}

function permissionValue(value: boolean | readonly string[]): boolean | string[] {
  return typeof value === "boolean" ? value : [...value];
}
