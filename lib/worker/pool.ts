/**
 * Warm stage workers.
 *
 * Creating a Web Worker costs ~14 ms of CPU here (and importing a pipeline in
 * it much more), and Deno fixes a worker's permissions at creation, so one
 * worker per stage (with that stage's paths) would cost more than the stages
 * themselves. Instead each worker owns a staging area (`staging.ts`: its deps
 * linked in, each run's outs and scratch files in directories of their own)
 * and may read and write only there, plus a stage's declared extras and the
 * pipeline's code. A write anywhere else, or a read of an undeclared file,
 * fails with `NotCapable`.
 *
 * Workers are reused for any stage whose extra permissions (net, env, run,
 * ffi, sys, read) are the same, but only after a run that left the worker as
 * it found it (`docs/isolation.md`): a run that left a timer, an open
 * resource or a changed built-in, that exited or that let an error escape
 * retires its worker, and when more stages are coming a replacement is made
 * at once, with the retired worker's modules imported ahead of need.
 *
 * @module
 */

import { releaseFreedMemory, releaseHeapAndFreed, releaseHeapIfRegrown } from "../free_memory.ts";
import type { ResolvedPermissions } from "../model/stage_def.ts";
import { needChild } from "../launcher_attempt.ts";
import { mark } from "../trace.ts";
import { Gate } from "./gate.ts";
import type { ReturnedFiles } from "../model/returned_files.ts";
import type { ErrorInfo, FromWorker, RunRequest, ToWorker } from "./protocol.ts";
import { StagingArea, type WorkerFolders, workerFolders } from "./staging.ts";

/** Verdicts received from every worker of this process. */
let verdicts = 0;

/** How a run ended. */
export type RunOutcome =
  | {
    readonly status: "done";
    /** The files of each `loaders.files()` out, by out name, for the engine to write. */
    readonly files?: Readonly<Record<string, ReturnedFiles>>;
  }
  | {
    readonly status: "failed";
    readonly error: ErrorInfo;
    /**
     * Where it failed: loading the code, a dep, in the run, saving an out;
     * `exit`: the stage ended its worker (`error.message` is the call, as
     * `Deno.exit(3)`); `worker`: the worker died.
     */
    readonly phase: "import" | "load" | "run" | "save" | "exit" | "worker";
    /** The error escaped from a callback (`error`) or a promise (`rejection`) of the stage. */
    readonly uncaught?: "error" | "rejection";
    /** `exit` only: the exit code asked for. */
    readonly exitCode?: number;
    /**
     * `worker` only: the worker was stopped by work an earlier stage left
     * running, not by this stage; it should run again in another worker.
     */
    readonly interrupted?: boolean;
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
  /**
   * The name each worker's staging folders are made from: the `k`-th
   * worker's are `<stagingRoot>.w<k>` and `<stagingRoot>.d<k>`
   * ({@link workerFolders}), beside it rather than under it.
   */
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

let runCounter = 0;

/** One warm worker with its staging area. */
export class StageWorker {
  /** Staging area. */
  readonly staging: StagingArea;
  /** Permission profile key. */
  readonly profile: string;
  /** The stage permissions it was made for. */
  readonly permissions: ResolvedPermissions;
  readonly #worker: Worker;
  readonly #gate = new Gate();
  readonly #onStray: (message: string) => void;
  /** Module URLs its runs imported (a replacement imports them ahead of need). */
  readonly modules: Set<string> = new Set();
  #current:
    | { id: number; stage: string; resolve: (outcome: RunOutcome) => void; log: LogSink }
    | undefined;
  /** Resolves with what the last run left once the worker waits at its gate. */
  #verdict:
    | { id: number; promise: Promise<readonly string[]>; resolve: Resolve; settled: boolean }
    | undefined;
  #lastStage = "";
  /** The stage of each run this worker was given (errors may surface after a run ended). */
  readonly #stages = new Map<number, string>();
  #dead = false;
  /** Must not run another stage. */
  #retire = false;
  /** Blocked at its gate. */
  #waiting = false;
  /** Has ended a run (its modules are imported). */
  #ranOnce = false;

  constructor(
    folders: WorkerFolders,
    profile: string,
    permissions: ResolvedPermissions,
    grants: Deno.PermissionOptionsObject,
    onStray: (message: string) => void,
  ) {
    // A stage's modules load with the user's deno.json: never in the launcher's process.
    needChild("starting a stage's worker");
    this.profile = profile;
    this.permissions = permissions;
    this.#onStray = onStray;
    this.staging = new StagingArea(folders);
    this.#worker = new Worker(WORKER_URL, { type: "module", deno: { permissions: grants } });
    this.#worker.onmessage = (event: MessageEvent<FromWorker>) => this.#receive(event.data);
    this.#worker.onerror = (event) => {
      // An error the worker could not catch itself (its own module failed
      // to load, say): fail the run rather than the whole process.
      event.preventDefault();
      this.#finish({
        status: "failed",
        phase: "worker",
        error: { name: "Error", message: event.message, stack: undefined },
      });
      this.terminate();
    };
    this.#post({ type: "init", gate: this.#gate.buffer });
  }

  /** False once terminated or crashed. */
  get alive(): boolean {
    return !this.#dead;
  }

  /** True when the worker may run another stage. */
  get reusable(): boolean {
    return !this.#dead && !this.#retire && (this.#verdict?.settled ?? true);
  }

  /** Import `urls` now (a worker made ahead of need). */
  preload(urls: readonly string[]): void {
    for (const url of urls) this.modules.add(url);
    if (urls.length > 0) this.#post({ type: "preload", urls });
  }

  /** Run a stage; `signal` cancels it (after the grace period, the worker is terminated). */
  run(
    request: Omit<RunRequest, "type" | "id">,
    log: LogSink,
    signal: AbortSignal | undefined,
    graceMs: number,
  ): Promise<RunOutcome> {
    const id = ++runCounter;
    return new Promise((resolve) => {
      if (this.#dead || this.#retire) {
        resolve({
          status: "failed",
          phase: "worker",
          error: { name: "Error", message: "worker is gone", stack: undefined },
        });
        return;
      }
      // (A command stage never comes here: the engine runs it as a process.)
      if (request.code.kind !== "command") this.modules.add(request.code.moduleUrl);
      this.#lastStage = request.stage;
      this.#stages.set(id, request.stage);
      let resolveVerdict: Resolve = () => {};
      const promise = new Promise<readonly string[]>((r) => resolveVerdict = r);
      this.#verdict = { id, promise, resolve: resolveVerdict, settled: false };
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
        stage: request.stage,
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

  /**
   * What the last run left behind (timers, open resources, changed
   * built-ins; empty when nothing), once the worker waits at its gate or is
   * gone. Resolves at once when no run is pending.
   */
  leftovers(): Promise<readonly string[]> {
    return this.#verdict?.promise ?? Promise.resolve([]);
  }

  /**
   * Let the worker take the next stage: move its staging area to the next
   * run's directories (removing `links`, see {@link StagingArea.next}) and
   * open its gate. Only when {@link reusable} after {@link leftovers}.
   */
  reuse(links: readonly string[], clean: boolean): void {
    this.staging.next(links, clean);
    if (this.#waiting) {
      this.#waiting = false;
      this.#gate.release();
    }
  }

  #post(message: ToWorker): void {
    if (!this.#dead) this.#worker.postMessage(message);
  }

  #receive(message: FromWorker): void {
    if (message.type === "stray") {
      const stage = this.#stages.get(message.id) ?? this.#lastStage;
      const what = message.error.name === "Exit"
        ? message.error.message
        : `threw ${message.error.name}: ${message.error.message}`;
      this.#onStray(
        `stage '${stage}' left work running after it finished, and it ${what}; its worker was replaced`,
      );
      // The worker stopped; the run now in it (if any) did not fail by its
      // own doing: the engine runs it again in another worker.
      this.#finish({
        status: "failed",
        phase: "worker",
        interrupted: true,
        error: {
          name: "Error",
          message: `its worker was stopped by work stage '${stage}' left running`,
          stack: undefined,
        },
      });
      this.terminate();
      return;
    }
    if (message.type === "verdict") {
      // The worker compiled the pipeline's modules for its first run: what
      // the compiler freed stays with the allocator unless handed back.
      if (!this.#ranOnce) releaseFreedMemory();
      // Every 100 runs of the process's workers: a big pipeline's main heap
      // regrows through the run (docs/performance.md, "Peak memory at 10,000
      // stages, sixth session").
      if (++verdicts % 100 === 0) releaseHeapIfRegrown();
      this.#ranOnce = true;
      this.#waiting = true;
      if (message.leftovers.length > 0) this.#retire = true;
      this.#settle(message.id, message.leftovers);
      return;
    }
    const current = this.#current;
    if (!current || message.id !== current.id) return;
    switch (message.type) {
      case "log":
        current.log(message.stream, message.text);
        return;
      case "done":
        this.#finish(message.files ? { status: "done", files: message.files } : { status: "done" });
        return;
      case "failed":
        if (message.uncaught !== undefined) {
          // The stage's work is still going on: the worker waits to be retired.
          this.#retire = true;
          this.#waiting = true;
          this.#settle(message.id, []);
        }
        this.#finish({
          status: "failed",
          error: message.error,
          phase: message.phase,
          ...(message.uncaught !== undefined ? { uncaught: message.uncaught } : {}),
        });
        return;
      case "exited":
        this.#retire = true;
        this.#waiting = true;
        this.#settle(message.id, []);
        this.#finish({
          status: "failed",
          phase: "exit",
          error: { name: "Exit", message: message.call, stack: message.stack },
          ...(message.code !== undefined ? { exitCode: message.code } : {}),
        });
        return;
    }
  }

  #finish(outcome: RunOutcome): void {
    const current = this.#current;
    this.#current = undefined;
    current?.resolve(outcome);
  }

  #settle(id: number, leftovers: readonly string[]): void {
    const verdict = this.#verdict;
    if (verdict === undefined || verdict.id !== id || verdict.settled) return;
    verdict.settled = true;
    verdict.resolve(leftovers);
  }

  /** Stop the worker now (also one blocked at its gate). */
  terminate(): void {
    if (this.#dead) return;
    this.#dead = true;
    this.#worker.terminate();
    // A worker blocked in Atomics.wait ignores terminate(): wake it, and it
    // closes itself.
    this.#gate.retire();
    this.#finish({ status: "cancelled" });
    if (this.#verdict !== undefined && !this.#verdict.settled) {
      this.#verdict.settled = true;
      this.#verdict.resolve([]);
    }
  }
}

type Resolve = (leftovers: readonly string[]) => void;

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
  readonly #warnings: string[] = [];
  /** Removals of staging folders under way (a {@link close} waits for them). */
  readonly #removals = new Set<Promise<void>>();
  #made = 0;
  #code: Promise<CodeAccess> | undefined;
  #codeAccess: CodeAccess | undefined;
  /** The permissions of each profile this pool made a worker for. */
  readonly #profiles = new Map<string, ResolvedPermissions>();
  /** Workers made ahead of need ({@link warmLike}), with the code access they were given. */
  #warm:
    | {
      readonly workers: StageWorker[];
      readonly code: CodeAccess;
      /** Modules to import ahead of need, by profile ({@link preloadWarm}). */
      readonly modules: ReadonlyMap<string, readonly string[]>;
      preloaded?: boolean;
    }
    | undefined;
  #closed = false;

  constructor(options: PoolOptions) {
    this.#options = options;
  }

  /** How many workers this pool has started (made ahead of need or not). */
  get started(): number {
    return this.#made;
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
      if (worker.reusable) return worker;
      this.#drop(worker);
    }
    this.#codeAccess ??= await (this.#code ??= this.#prepare());
    return this.#takeWarm(profile) ?? this.#create(profile, permissions, this.#codeAccess);
  }

  /**
   * Start, ahead of need, one worker for each permission profile `previous`
   * made workers for, with the code access `previous` had (watch mode, when
   * a code file changed: the next version of the code will most likely need
   * the same).
   * Starting a worker (the runtime's bootstrap, the worker's own modules)
   * is most of the time from a code change to its stage starting; a worker
   * made here has imported nothing of the user's, so it is as fresh as one
   * made later. {@link acquire} uses it only if this pool's code access
   * turns out the same (same files, same hosts: same permissions).
   */
  warmLike(previous: WorkerPool): void {
    const code = previous.#codeAccess;
    if (this.#closed || this.#warm !== undefined || code === undefined) return;
    if (previous.#profiles.size === 0) return;
    const workers = [...previous.#profiles].map(([profile, permissions]) =>
      this.#create(profile, permissions, code)
    );
    // What the previous workers of each profile imported: imported by the
    // new ones once the new code is fingerprinted (`preloadWarm`).
    const modules = new Map<string, string[]>();
    for (const worker of previous.#all) {
      const urls = modules.get(worker.profile) ?? [];
      urls.push(...worker.modules);
      modules.set(worker.profile, urls);
    }
    this.#warm = { workers, code, modules };
  }

  /**
   * Let the workers made by {@link warmLike} import now the modules the
   * previous pool's workers of their profile imported, those of `current`
   * only (the module URLs of the reloaded stages): called once the new code
   * is loaded and fingerprinted, so that a stage's import runs beside the
   * engine's start of the wave rather than after it. Never before the
   * fingerprint: code imported before it could be older than what it
   * records, and a later save of the same content would not run it again.
   */
  preloadWarm(current: ReadonlySet<string>): void {
    const warm = this.#warm;
    if (warm === undefined || warm.preloaded) return;
    warm.preloaded = true;
    for (const worker of warm.workers) {
      const urls = [...new Set(warm.modules.get(worker.profile))].filter((url) => current.has(url));
      worker.preload(urls);
    }
  }

  /**
   * Start one worker for stages of `permissions` now, before this pool's
   * code access is known, with `code` (what the code access is expected to
   * be: a cold fingerprint's module graph, before its modules are
   * summarised), importing `modules` ahead of need. As with
   * {@link warmLike}, {@link acquire} uses it only if the code access turns
   * out the same; otherwise it is terminated unused.
   */
  startEarly(code: CodeAccess, permissions: ResolvedPermissions, modules: readonly string[]): void {
    if (this.#closed || this.#warm !== undefined || this.#made > 0) return;
    const worker = this.#create(profileOf(permissions), permissions, code);
    worker.preload(modules);
    this.#warm = { workers: [worker], code, modules: new Map(), preloaded: true };
  }

  /** A worker made ahead of need for `profile`, if its code access is this pool's. */
  #takeWarm(profile: string): StageWorker | undefined {
    const warm = this.#warm;
    if (warm === undefined || warm.workers.length === 0) return undefined;
    if (!sameCodeAccess(warm.code, this.#codeAccess!)) {
      mark("pool: workers made ahead dropped (another code access)");
      for (const worker of warm.workers.splice(0)) this.#drop(worker);
      return undefined;
    }
    const at = warm.workers.findIndex((worker) => worker.profile === profile && worker.alive);
    return at < 0 ? undefined : warm.workers.splice(at, 1)[0];
  }

  /** What the workers may load, and room for them: made before the first worker. */
  async #prepare(): Promise<CodeAccess> {
    const code = await this.#options.codeAccess();
    // What loading and fingerprinting the pipeline freed goes back to the system.
    await releaseHeapAndFreed();
    return code;
  }

  #create(profile: string, permissions: ResolvedPermissions, code: CodeAccess): StageWorker {
    const folders = workerFolders(this.#options.stagingRoot, this.#made++);
    const worker = new StageWorker(folders, profile, permissions, {
      read: [folders.root, folders.deps, ...code.read, ...permissions.read],
      write: [folders.root],
      net: permissionValue(permissions.net),
      env: permissionValue(permissions.env),
      run: permissionValue(permissions.run),
      ffi: permissionValue(permissions.ffi),
      sys: permissionValue(permissions.sys) as Deno.PermissionOptionsObject["sys"],
      import: importHosts(code.importHosts),
    }, (message) => this.#warnings.push(message));
    this.#all.add(worker);
    this.#profiles.set(profile, permissions);
    return worker;
  }

  /**
   * Give a worker back after a run whose leftovers are known (see
   * {@link StageWorker.leftovers}). A reusable worker moves to its next
   * run's directories (removing the dep links `links`; `clean`: the run
   * succeeded) and waits for the next stage; any other is terminated, and
   * when `more` stages are coming a replacement is made now, importing the
   * same modules, so that it is ready when one needs it.
   */
  release(
    worker: StageWorker,
    after: { readonly links: readonly string[]; readonly clean: boolean; readonly more: boolean },
  ): void {
    if (!worker.reusable) {
      this.#drop(worker);
      if (after.more) this.#replace(worker);
      return;
    }
    worker.reuse(after.links, after.clean);
    const idle = this.#idle.get(worker.profile) ?? [];
    idle.push(worker);
    this.#idle.set(worker.profile, idle);
  }

  #drop(worker: StageWorker): void {
    worker.terminate();
    this.#all.delete(worker);
    void this.#removeStaging(worker);
  }

  /** Remove `worker`'s staging folders (a {@link close} waits for it). */
  #removeStaging(worker: StageWorker): Promise<void> {
    const removal = Promise.all(
      worker.staging.folders.map((folder) =>
        Deno.remove(folder, { recursive: true }).catch(() => {})
      ),
    ).then(() => {});
    this.#removals.add(removal);
    void removal.then(() => this.#removals.delete(removal));
    return removal;
  }

  /** Make a worker for the stages `retired` ran, with their modules imported ahead of need. */
  #replace(retired: StageWorker): void {
    if (this.#closed || this.#codeAccess === undefined) return;
    const worker = this.#create(retired.profile, retired.permissions, this.#codeAccess);
    worker.preload([...retired.modules]);
    const idle = this.#idle.get(worker.profile) ?? [];
    idle.push(worker);
    this.#idle.set(worker.profile, idle);
  }

  /** Warnings since the last call: errors thrown by work stages left running after they ended. */
  takeWarnings(): string[] {
    return this.#warnings.splice(0);
  }

  /** Terminate every worker and remove the staging areas. */
  async close(): Promise<void> {
    this.#closed = true;
    const workers = [...this.#all];
    for (const worker of workers) worker.terminate();
    this.#all.clear();
    this.#idle.clear();
    // No worker made (a no-op): no staging area to remove, nothing to wait for.
    if (this.#made === 0) return;
    for (const worker of workers) void this.#removeStaging(worker);
    await Promise.all(this.#removals);
  }
}

function sameCodeAccess(a: CodeAccess, b: CodeAccess): boolean {
  const same = (x: readonly string[], y: readonly string[]) =>
    x.length === y.length && x.every((item, i) => item === y[i]);
  return same(a.read, b.read) && same(a.importHosts, b.importHosts);
}

function importHosts(hosts: readonly string[]): false | string[] {
  const all = new Set(hosts);
  if (WORKER_URL.protocol !== "file:") all.add(WORKER_URL.host);
  return all.size > 0 ? [...all] : false;
}

function permissionValue(value: boolean | readonly string[]): boolean | string[] {
  return typeof value === "boolean" ? value : [...value];
}
