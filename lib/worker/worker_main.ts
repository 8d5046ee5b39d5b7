/**
 * The entry module of a stage worker. It imports the user's pipeline module
 * once (and keeps it: a warm worker runs many stages), then for each run
 * request loads the deps with their loaders, calls the run function, and
 * saves the returned values with the out loaders, all inside the Deno
 * permissions the worker was created with.
 *
 * Between runs the worker keeps stages apart (`docs/isolation.md`): before
 * any stage code is imported it guards `Deno.exit`, `self.close` and
 * `Deno.chdir` (`guards.ts`) and starts watching timers (`leftovers.ts`);
 * after each run it reports what the run left (timers, open resources,
 * changed globals and built-ins: `realm.ts`) and waits at its gate
 * (`gate.ts`) while the engine commits the outs. An error that escapes the
 * stage's code (a throwing timer, an unhandled rejection) fails the run
 * instead of reaching Deno's default handler.
 *
 * Console output is forwarded to the main thread, which prefixes it with the
 * stage name.
 *
 * @module
 */

import * as builtinLoaders from "../api/loaders.ts";
import type { LoaderSpec } from "../model/loader_spec.ts";
import {
  filesRecord,
  isFilesSpec,
  type ReturnedFiles,
  returnedFiles,
} from "../model/returned_files.ts";
import type { Reader, Writer } from "../api/loaders.ts";
import { isPipeline, type Pipeline, type RegisteredStage } from "../api/pipeline.ts";
import type { CodeRef } from "../model/stage_def.ts";
import { waitAtGate } from "./gate.ts";
import { type ExitAttempt, installGuards } from "./guards.ts";
import { LeftoverWatch } from "./leftovers.ts";
import type { ErrorInfo, FromWorker, RunRequest, ToWorker } from "./protocol.ts";
import { RealmSnapshot } from "./realm.ts";
import { RunOwner } from "./run_owner.ts";
import { captureRawWrites, StageConsole } from "./_stage_console.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
  close(): void;
  addEventListener(type: "error", listener: (event: ErrorEvent) => void): void;
  addEventListener(
    type: "unhandledrejection",
    listener: (event: PromiseRejectionEvent) => void,
  ): void;
}

const scope = self as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);
/** The real `close`, before the guard replaces it. */
const closeWorker = scope.close.bind(scope);

let currentRun = -1;
const controllers = new Map<number, AbortController>();

function format(args: unknown[]): string {
  return args.map((arg) => typeof arg === "string" ? arg : Deno.inspect(arg, { colors: false }))
    .join(" ");
}

const stageConsole = new StageConsole((stream, text) =>
  post({ type: "log", id: currentRun, stream, text })
);
captureRawWrites(stageConsole);

function forward(stream: "stdout" | "stderr") {
  return (...args: unknown[]) => stageConsole.line(stream, format(args));
}

console.log = console.info = console.debug = forward("stdout");
console.error = console.warn = console.trace = forward("stderr");

/** The gate this worker waits at between runs (sent by the engine first). */
let gate: SharedArrayBuffer | undefined;
/** The run whose stage code may be running, until its outcome is reported. */
let active: { readonly id: number; reported: boolean } | undefined;
/** The last run reported (errors escaping later are blamed on it). */
let lastRun = -1;
/** Set once the worker is to stop: nothing more is reported. */
let stopping = false;

/** Thrown into a stage that exited, to unwind it once the worker is retired. */
class WorkerStopped extends Error {
  constructor() {
    super("the stage's worker was stopped");
  }
}

/** Wait to be retired, then close: this worker runs no more stages. */
function stop(): void {
  stopping = true;
  if (gate !== undefined) waitAtGate(gate);
  closeWorker();
}

const owner = new RunOwner();
const leftovers = new LeftoverWatch(() => owner.current());
leftovers.install();

/**
 * The active run, if `run` (the run the failing code belongs to, when
 * known) is it; otherwise the code is work an earlier run left running.
 */
function blame(run: number | undefined): { id: number; reported: boolean } | undefined {
  if (active === undefined || active.reported) return undefined;
  return run === undefined || run === active.id ? active : undefined;
}

/**
 * Report work an earlier run (`run`) left running that failed now, and
 * stop: the worker is not fit for more stages, nor for the run now active
 * (the engine runs that one again elsewhere).
 */
function stray(run: number | undefined, error: ErrorInfo): void {
  post({ type: "stray", id: run ?? lastRun, error });
  if (active !== undefined) active.reported = true;
  stop();
}

installGuards((attempt: ExitAttempt): never => {
  if (!stopping) {
    const run = blame(owner.current());
    if (run !== undefined) {
      run.reported = true;
      post({ type: "exited", id: run.id, ...attempt });
      stop();
    } else {
      stray(owner.current(), {
        name: "Exit",
        message: `called ${attempt.call}`,
        stack: attempt.stack,
      });
    }
  }
  throw new WorkerStopped();
});

/** An error that escaped the stage's code fails its run (or, after it, is reported as stray). */
function escaped(error: unknown, kind: "error" | "rejection"): void {
  if (stopping || error instanceof WorkerStopped) return;
  const from = leftovers.thrownBy(error) ?? owner.current();
  const run = blame(from);
  if (run === undefined) return stray(from, errorInfo(error));
  run.reported = true;
  post({ type: "failed", id: run.id, error: errorInfo(error), phase: "run", uncaught: kind });
  stop();
}

scope.addEventListener("error", (event) => {
  event.preventDefault();
  escaped(event.error ?? new Error(event.message), "error");
});
scope.addEventListener("unhandledrejection", (event) => {
  event.preventDefault();
  escaped(event.reason, "rejection");
});

/** One turn of the event loop: errors and rejections of the run surface before it is reported. */
const turn = new MessageChannel();
function nextTurn(): Promise<void> {
  return new Promise((resolve) => {
    turn.port1.onmessage = () => resolve();
    turn.port2.postMessage(null);
  });
}

/** The realm as it was after the last import (undefined: take it before the next run). */
let realm: RealmSnapshot | undefined;
/** The pieces of a stage the worker needs to run it. */
interface Runtime {
  run: (deps: unknown, ctx: unknown) => unknown;
  depLoaders: Record<string, Reader<unknown>>;
  outLoaders: Record<string, Writer<unknown> | undefined>;
}

const modules = new Map<string, Promise<Record<string, unknown>>>();

function importOnce(url: string): Promise<Record<string, unknown>> {
  let module = modules.get(url);
  if (!module) {
    module = import(url);
    modules.set(url, module);
    // What importing a module does is part of the baseline.
    realm = undefined;
  }
  return module;
}

function loaderFromSpec(spec: LoaderSpec | undefined): Reader<unknown> & Partial<Writer<unknown>> {
  const make = spec &&
    (builtinLoaders as unknown as Record<
      string,
      ((options: unknown) => Reader<unknown> & Partial<Writer<unknown>>) | undefined
    >)[spec.kind];
  return make ? make(spec.options) : builtinLoaders.pathOnly();
}

async function resolveRuntime(request: RunRequest): Promise<Runtime> {
  const code: CodeRef = request.code;
  if (code.kind === "command") {
    throw new Error(`stage '${request.stage}' runs a command: it is not run in a worker`);
  }
  const module = await importOnce(code.moduleUrl);
  if (code.kind === "registered") {
    const pipeline = Object.values(module).find((value): value is Pipeline =>
      isPipeline(value) && value.name === request.pipeline
    );
    // A stage included from another pipeline may be known by a qualified name (`other/train`).
    const name = code.stageName ?? request.stage;
    const stage: RegisteredStage | undefined = pipeline?.stages.find((s) => s.name === name);
    if (!stage) {
      throw new Error(
        `stage '${name}' is not registered when ${code.moduleUrl} is imported in a worker: registration must not depend on the environment`,
      );
    }
    return {
      run: stage.run as Runtime["run"],
      depLoaders: Object.fromEntries(Object.entries(stage.deps).map(([k, d]) => [k, d.loader])),
      outLoaders: Object.fromEntries(
        Object.entries(stage.outs).map(([k, o]) => [k, o.selfWritten ? undefined : o.loader]),
      ),
    };
  }
  const value = module[code.exportName];
  const definition = value as { spec?: RegisteredStage & { run: Runtime["run"] } };
  if (typeof value === "function") {
    return {
      run: value as Runtime["run"],
      depLoaders: Object.fromEntries(request.deps.map((d) => [d.name, loaderFromSpec(d.loader)])),
      outLoaders: Object.fromEntries(
        request.outs.map((o) => [o.name, o.selfWritten ? undefined : loaderFromSpec(o.loader)]),
      ) as Runtime["outLoaders"],
    };
  }
  if (definition?.spec && typeof definition.spec.run === "function") {
    const spec = definition.spec;
    return {
      run: spec.run,
      depLoaders: Object.fromEntries(
        Object.entries(spec.deps ?? {}).map(([k, d]) => [k, d.loader]),
      ),
      outLoaders: Object.fromEntries(
        Object.entries(spec.outs ?? {}).map(([k, o]) => [k, o.selfWritten ? undefined : o.loader]),
      ),
    };
  }
  throw new Error(`${code.moduleUrl} has no function or stage definition '${code.exportName}'`);
}

function errorInfo(error: unknown): ErrorInfo {
  if (error instanceof Error) {
    return { name: error.name, message: error.message, stack: error.stack };
  }
  return { name: "Error", message: String(error), stack: undefined };
}

class PhaseError extends Error {
  constructor(
    readonly phase: "import" | "load" | "run" | "save",
    readonly inner: unknown,
    readonly artifact?: string,
  ) {
    super("phase");
  }
}

async function phase<T>(
  name: PhaseError["phase"],
  work: () => Promise<T> | T,
  artifact?: string,
): Promise<T> {
  try {
    return await work();
  } catch (error) {
    throw error instanceof PhaseError ? error : new PhaseError(name, error, artifact);
  }
}

/**
 * Load the deps, run the stage and save its outs; returns the files of its
 * `loaders.files()` outs, checked and encoded, for the engine to write.
 */
async function execute(
  runtime: Runtime,
  request: RunRequest,
): Promise<Record<string, ReturnedFiles> | undefined> {
  const deps: Record<string, unknown> = {};
  for (const dep of request.deps) {
    // Read by the engine, outside this sandbox (lib/storage/read_files.ts).
    const read = isFilesSpec(dep.loader) ? request.files?.[dep.name] : undefined;
    if (read !== undefined) {
      deps[dep.name] = filesRecord(read, dep.loader?.options.text === true);
      continue;
    }
    const loader = runtime.depLoaders[dep.name] ?? loaderFromSpec(dep.loader);
    deps[dep.name] = await phase("load", () => loader.load(dep.path), dep.name);
  }
  const controller = new AbortController();
  controllers.set(request.id, controller);
  const ctx = {
    params: request.params,
    outs: Object.fromEntries(request.outs.map((o) => [o.name, o.path])),
    variant: request.variant,
    stage: request.stage,
    signal: controller.signal,
    tmpDir: request.tmpDir,
  };
  const result = await phase("run", () => runtime.run(deps, ctx)) as
    | Record<string, unknown>
    | undefined;
  let files: Record<string, ReturnedFiles> | undefined;
  await phase("save", async () => {
    for (const out of request.outs) {
      const loader = runtime.outLoaders[out.name];
      if (loader === undefined) continue;
      if (result === undefined || result === null || !(out.name in result)) {
        throw new Error(
          `stage '${request.stage}' returned no value for out '${out.name}': return { ${out.name}: … }`,
        );
      }
      if (isFilesSpec(out.loader)) {
        // Written by the engine, outside this sandbox (lib/model/returned_files.ts).
        const returned = await phase("save", () => returnedFiles(result[out.name]), out.name);
        (files ??= {})[out.name] = returned;
        continue;
      }
      await phase("save", () => loader.save(result[out.name], out.path), out.name);
    }
  });
  return files;
}

/** What the finished run left behind: timers, open resources, changed built-ins. */
function leftBehind(failure: PhaseError | undefined): string[] {
  const left = leftovers.end();
  // A module that threw while it was imported may have done half of what
  // it does at import time, before the realm was recorded.
  if (failure?.phase === "import") left.push("a module that failed to load");
  const changed = realm?.changes() ?? [];
  if (changed.length > 0) left.push(`changed ${changed.join(", ")}`);
  return left;
}

async function handleRun(request: RunRequest): Promise<void> {
  const run = { id: request.id, reported: false };
  active = run;
  currentRun = request.id;
  // What the run's code starts, however late it runs, is the run's.
  owner.enter(request.id);
  let failure: PhaseError | undefined;
  let files: Record<string, ReturnedFiles> | undefined;
  try {
    const runtime = await phase("import", () => resolveRuntime(request));
    // What the import did is the baseline; the stage's code starts here.
    realm ??= RealmSnapshot.take();
    leftovers.begin();
    files = await execute(runtime, request);
  } catch (error) {
    failure = error instanceof PhaseError ? error : new PhaseError("run", error);
  } finally {
    controllers.delete(request.id);
  }
  // Errors thrown by the run's callbacks, and its unhandled rejections,
  // fail it (reported by `escaped`) if they happen within one more turn.
  await nextTurn();
  owner.leave();
  // A last line the stage wrote without a newline is its own.
  stageConsole.flush();
  if (run.reported) return;
  run.reported = true;
  active = undefined;
  lastRun = request.id;
  const info = failure && errorInfo(failure.inner);
  post(
    failure === undefined || info === undefined
      ? { type: "done", id: request.id, ...(files ? { files } : {}) }
      : {
        type: "failed",
        id: request.id,
        error: failure.artifact === undefined ? info : { ...info, artifact: failure.artifact },
        phase: failure.phase,
      },
  );
  // Nothing of the stage runs from here until the engine opens the gate:
  // the checks below are synchronous, and so is the wait.
  post({ type: "verdict", id: request.id, leftovers: leftBehind(failure) });
  if (gate !== undefined && !waitAtGate(gate)) stop();
}

async function preload(urls: readonly string[]): Promise<void> {
  for (const url of urls) await importOnce(url).catch(() => {});
  realm ??= RealmSnapshot.take();
}

scope.onmessage = (event) => {
  const message = event.data;
  switch (message.type) {
    case "init":
      gate = message.gate;
      return;
    case "preload":
      void preload(message.urls);
      return;
    case "cancel":
      controllers.get(message.id)?.abort(new DOMException("stage cancelled", "AbortError"));
      return;
    case "run":
      void handleRun(message);
  }
};
