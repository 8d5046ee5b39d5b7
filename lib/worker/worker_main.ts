/**
 * The entry module of a stage worker. It imports the user's pipeline module
 * once (and keeps it: a warm worker runs many stages), then for each run
 * request loads the deps with their loaders, calls the run function, and
 * saves the returned values with the out loaders, all inside the Deno
 * permissions the worker was created with.
 *
 * Console output is forwarded to the main thread, which prefixes it with the
 * stage name.
 *
 * @module
 */

import * as builtinLoaders from "../api/loaders.ts";
import type { LoaderSpec } from "../model/loader_spec.ts";
import type { Reader, Writer } from "../api/loaders.ts";
import { isPipeline, type Pipeline, type RegisteredStage } from "../api/pipeline.ts";
import type { CodeRef } from "../model/stage_def.ts";
import type { ErrorInfo, FromWorker, RunRequest, ToWorker } from "./protocol.ts";
import { captureRawWrites, StageConsole } from "./_stage_console.ts";

interface WorkerScope {
  onmessage: ((event: MessageEvent<ToWorker>) => void) | null;
  postMessage(message: FromWorker): void;
}

const scope = self as unknown as WorkerScope;
const post = (message: FromWorker) => scope.postMessage(message);

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

async function execute(request: RunRequest): Promise<void> {
  const runtime = await phase("import", () => resolveRuntime(request));
  const deps: Record<string, unknown> = {};
  for (const dep of request.deps) {
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
  await phase("save", async () => {
    for (const out of request.outs) {
      const loader = runtime.outLoaders[out.name];
      if (loader === undefined) continue;
      if (result === undefined || result === null || !(out.name in result)) {
        throw new Error(
          `stage '${request.stage}' returned no value for out '${out.name}': return { ${out.name}: … }`,
        );
      }
      await phase("save", () => loader.save(result[out.name], out.path), out.name);
    }
  });
}

scope.onmessage = async (event) => {
  const message = event.data;
  if (message.type === "cancel") {
    controllers.get(message.id)?.abort(new DOMException("stage cancelled", "AbortError"));
    return;
  }
  currentRun = message.id;
  try {
    await execute(message);
    stageConsole.flush();
    post({ type: "done", id: message.id });
  } catch (error) {
    stageConsole.flush();
    const phaseError = error instanceof PhaseError ? error : new PhaseError("run", error);
    const info = errorInfo(phaseError.inner);
    post({
      type: "failed",
      id: message.id,
      error: phaseError.artifact === undefined ? info : { ...info, artifact: phaseError.artifact },
      phase: phaseError.phase,
    });
  } finally {
    controllers.delete(message.id);
  }
};
