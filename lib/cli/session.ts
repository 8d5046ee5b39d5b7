/**
 * Opening a project for a command: find it, load its pipeline, build the
 * graph, open the stores and fingerprint the code — everything the engine
 * needs, in one {@link EngineContext}. The commands that also work on
 * tracked data (`checkout`, `status`, `verify`) open a project that has
 * only tracked data and no pipeline file with no stages
 * ({@link SessionOptions.trackedDataOnly}), as DVC's do in a project of
 * only `.dvc` files.
 *
 * @module
 */

import { exists, isFile } from "../paths.ts";
import { dirname } from "../posix_path.ts";
import { PIVOT_ROOT } from "../own_code.ts";
import { buildGraph } from "../graph/graph.ts";
import { readParamsOverrides } from "../pipeline/params_overrides.ts";
import type { LoadedStages } from "../pipeline/discovery.ts";
import {
  type LoadCacheKey,
  type LoadDerived,
  readLoadCache,
  writeLoadCache,
} from "./load_cache.ts";
import { type NoopRecordBasis, recordedStages, writeNoopRecord } from "./noop_record.ts";
import { FreshLoader } from "../pipeline/load_worker.ts";
import { checkParamsStages } from "../pipeline/params_stages.ts";
import {
  findDenoConfig,
  findPipelineFile,
  findProject,
  nearestPipelineFile,
} from "../pipeline/find_project.ts";
import type { Project } from "../model/project.ts";
import { type ProjectConfig, readProjectConfig } from "../pipeline/project_config.ts";
import { Cache } from "../storage/cache.ts";
import { cleanLeftovers, closeTempJournal, useTempJournal } from "../storage/temp_files.ts";
import { findProjectFiles, walkSkips } from "../storage/project_files.ts";
import { type FileStamp, racyClock, StateStore } from "../storage/state.ts";
import { isTracked } from "../storage/track_file.ts";
import type { EngineContext } from "../engine/context.ts";
import { refuseOutsOverCode } from "../engine/out_paths.ts";
import {
  codeAccessOf,
  type FingerprintOptions,
  fingerprintStages,
  importHostsOf,
  prepareAnalysis,
} from "../fingerprint/fingerprint.ts";
import { moduleUrlOf, type StageDef } from "../model/stage_def.ts";
import { mark } from "../trace.ts";
import type { WorkerPool } from "../worker/pool.ts";
import { commitAttempt, needChild } from "../launcher_attempt.ts";
import type { CommandEnv } from "./command.ts";
import { rememberStageNames } from "./stage_names.ts";
import { analysisCacheFolder } from "./user_cache.ts";
import { type GitNeed, needingGit } from "./git_need.ts";

/**
 * An open project: close it when done. `File` is `string | undefined` only
 * for a session opened with {@link SessionOptions.trackedDataOnly}.
 */
export interface Session<File extends string | undefined = string> {
  /** The project. */
  readonly project: Project;
  /**
   * The pipeline file loaded; undefined only for a project of tracked data
   * without one ({@link SessionOptions.trackedDataOnly}): then there are no stages.
   */
  readonly pipelineFile: File;
  /** What the engine works with (replaced by {@link Session.reload}). */
  readonly context: EngineContext;
  /** Default parallelism from the config. */
  readonly jobs: number | undefined;
  /** How many runs the history keeps (`core.history`). */
  readonly historyLimit: number;
  /**
   * The local module files and remote module hosts of every loaded stage's
   * code, across pipelines (computed once per load, on demand).
   */
  code(): Promise<{ files: readonly string[]; hosts: readonly string[] }>;
  /**
   * Load the pipeline again, in a fresh isolate so that edited modules are
   * really re-imported (watch mode), and make it the current context. On
   * error (a syntax error, say) the current context stays.
   */
  reload(): Promise<EngineContext>;
  /**
   * Start the isolate of the next {@link Session.reload} now (watch mode,
   * when the code files `changed`, absolute, changed), so that a reload pays
   * only for the user's modules; and load TypeScript if the fingerprint
   * will analyse one of them.
   */
  prepareReload(changed: readonly string[]): void;
  /**
   * The worker pool started during a cold fingerprint
   * ({@link SessionOptions.earlyWorker}), its first worker already starting;
   * given once, to the command that runs the stages.
   */
  takeEarlyPool(): WorkerPool | undefined;
  /**
   * Have {@link Session.close} also wait for `work` (a closing worker pool
   * removing its staging area), which goes on meanwhile beside the state's
   * last commit. `work` must not reject.
   */
  closeWith(work: Promise<unknown>): void;
  /**
   * The stages' names, when the command was answered from the record of the
   * last verified no-op (lib/cli/noop_record.ts, {@link SessionOptions.noopRecord}):
   * every one is up to date, and {@link Session.context} holds no stages.
   */
  readonly recordedNoop: readonly string[] | undefined;
  /**
   * Write the record of a no-op that reported `names`, every one up to date,
   * when this session may (see {@link SessionOptions.noopRecord}) and its
   * verified check rested on the launcher's gate, leaving the index as it was.
   */
  recordNoop(names: readonly string[]): Promise<void>;
  /** Flush state and close the store. */
  close(): Promise<void>;
}

/** Options of {@link openSession}. */
export interface SessionOptions {
  /** The directory the command runs in. */
  readonly cwd: string;
  /** Receives warnings (corrupt cache objects, …). */
  readonly warn: (message: string) => void;
  /**
   * Type-check the pipeline's modules (`deno check`) after each load: `true`
   * (`--check`), `"config"` (as `core.check` says), or not (default).
   */
  readonly check?: boolean | "config";
  /**
   * A project with no pipeline file but with tracked data (`.pvt` files)
   * opens with no stages instead of being refused: for the commands that
   * work on tracked data too. Without tracked data it is refused as usual.
   */
  readonly trackedDataOnly?: boolean;
  /**
   * Fingerprint the stages' code (default true). `false` leaves the
   * context's `fingerprints` empty: only for commands that restore what the
   * lock files record and never decide whether a stage must run
   * (`checkout`, and so `pull`), which a cold fingerprint in a fresh clone
   * (0.6–2.5 s on this machine) would only slow down.
   */
  readonly fingerprint?: boolean;
  /**
   * Take the stages from the load cache (lib/cli/load_cache.ts) when it
   * holds, without importing the pipeline: `"always"` for a command that
   * only shows them (`list`); `"verified"` for one that decides them
   * (`repro`, `status`): the cached stages are kept only when the verified
   * index finds every stage up to date, else the pipeline is loaded the
   * normal way (nothing is ever run from cached data). After a normal load
   * either way, the cache is written again when it did not hold, but by a
   * command that does not fingerprint (`checkout`: it only reads the cache,
   * whose stages are exactly what a load would give). Not with a type
   * check.
   */
  readonly loadCache?: "always" | "verified";
  /**
   * A command that will most likely run stages after a cold fingerprint
   * (`repro`): once `deno info` has found the module graph, before
   * TypeScript summarises its modules, start the first stage's worker
   * (with the read permissions that graph implies) and its import of the
   * pipeline, so that both happen on the other core while the fingerprint
   * is computed ({@link Session.takeEarlyPool}). The pool uses that worker
   * only if the code access computed after the fingerprint is the same.
   */
  readonly earlyWorker?: boolean;
  /**
   * The command line is one the record of the last verified no-op may
   * answer (lib/cli/noop_record.ts: `repro` or `status` of every stage,
   * `--json` and `-v` aside), with {@link loadCache} `"verified"`: when the launcher's
   * gate held and the record does, the session opens with no stages and
   * {@link Session.recordedNoop} says what to report; else it opens as
   * usual, and {@link Session.recordNoop} may write the record.
   */
  readonly noopRecord?: boolean;
}

/**
 * Open the session of a command run in `env`, give it to `use`, and close it
 * (flushing state) however `use` ends.
 */
export function withSession<T>(
  env: CommandEnv,
  use: (session: Session) => T | Promise<T>,
  options?: {
    readonly check?: boolean | "config";
    /** Why the command needs git, said when there is none (`git_need.ts`). */
    readonly git?: GitNeed;
    /** See {@link SessionOptions.loadCache}. */
    readonly loadCache?: "always" | "verified";
    /** See {@link SessionOptions.earlyWorker}. */
    readonly earlyWorker?: boolean;
    /** See {@link SessionOptions.noopRecord}. */
    readonly noopRecord?: boolean;
  },
): Promise<T>;
/** As above, for a command that also works on a project of only tracked data. */
export function withSession<T>(
  env: CommandEnv,
  use: (session: Session<string | undefined>) => T | Promise<T>,
  options: {
    readonly check?: boolean | "config";
    readonly trackedDataOnly: true;
    readonly fingerprint?: boolean;
    readonly loadCache?: "always" | "verified";
    readonly noopRecord?: boolean;
  },
): Promise<T>;
export async function withSession<T>(
  env: CommandEnv,
  use: (session: Session) => T | Promise<T>,
  options:
    & Pick<
      SessionOptions,
      "check" | "trackedDataOnly" | "fingerprint" | "loadCache" | "earlyWorker" | "noopRecord"
    >
    & {
      readonly git?: GitNeed;
    } = {},
): Promise<T> {
  const { git, ...sessionOptions } = options;
  const session = await openSession({
    cwd: env.cwd,
    warn: (message) => env.output.error(`warning: ${message}`),
    ...sessionOptions,
  });
  try {
    // Without a pipeline file only with trackedDataOnly, whose `use` takes that.
    return await needingGit(git, async () => await use(session as Session));
  } finally {
    await session.close();
  }
}

/**
 * The most stages for which a cold fingerprint starts the first worker early
 * ({@link SessionOptions.earlyWorker}). Past it the worker's import of a big
 * pipeline module lands on the fingerprint's peak of memory (10,000 stages:
 * 275 -> 313 MiB) and its start-up is a small share of the run.
 */
const EARLY_WORKER_MAX_STAGES = 1000;

/** Open the project holding `options.cwd` and load its pipeline. */
export function openSession(
  options: SessionOptions & { readonly trackedDataOnly?: false },
): Promise<Session>;
/** As above; a project of only tracked data opens with no pipeline file and no stages. */
export function openSession(options: SessionOptions): Promise<Session<string | undefined>>;
export async function openSession(options: SessionOptions): Promise<Session<string | undefined>> {
  mark("session: start");
  const project = findProject(options.cwd);
  const pipelineFile = options.trackedDataOnly
    ? nearestPipelineFile(project, options.cwd)
    : findPipelineFile(project, options.cwd);
  // What killed commands left behind (temporary files, staging folders) goes first.
  cleanLeftovers(project.tmpDir);
  useTempJournal(project.tmpDir);
  const state = await StateStore.open(project.stateDir, { onReset: options.warn });
  let config: ProjectConfig;
  try {
    config = await readProjectConfig(project, { state });
  } catch (error) {
    state.kv.close();
    throw error;
  }
  const cache = new Cache(config.cacheDir, { state, warn: options.warn });
  if (pipelineFile === undefined) {
    const skip = walkSkips(project.root, cache.dir);
    if (findProjectFiles(project.root, skip).trackFiles.length === 0) {
      state.kv.close();
      // Neither a pipeline nor tracked data: refused, saying how to start one.
      findPipelineFile(project, options.cwd);
    }
  }
  config.warnings.forEach(options.warn);
  const typeCheck = options.check === "config" ? config.check : options.check === true;
  const denoConfig = findDenoConfig(dirname(pipelineFile ?? options.cwd));
  let context: EngineContext;
  // The first worker, started while a cold fingerprint is computed (options.earlyWorker).
  let earlyStages: readonly StageDef[] | undefined;
  let earlyPool: WorkerPool | undefined;
  let stagePoolModule: Promise<typeof import("./stage_pool.ts")> | undefined;
  let code: ReturnType<Session["code"]> | undefined;
  /** Work {@link Session.close} waits for too (`closeWith`). */
  const closing: Promise<unknown>[] = [];
  const sessionCode = () => code ??= stagesCodeAccess(context.graph.order, fingerprintOptions);
  const coldGraph: FingerprintOptions["coldGraph"] = {
    // Imported while `deno info` runs, when the main thread waits anyway: the
    // pool's module, and the engine's modules for running a stage, which the
    // first stage run would otherwise import (~8 ms before it can start).
    starting: () => {
      stagePoolModule ??= import("./stage_pool.ts");
      void import("../engine/engine_work.ts").catch(() => {});
    },
    found: async (entry, graph) => {
      const stages = earlyStages;
      earlyStages = undefined;
      if (stages === undefined || stages.length === 0 || stagePoolModule === undefined) return;
      // One pipeline module and no command stages: the graph is then all
      // the code access will be made of (`stagesCodeAccess`).
      if (stages.some((stage) => moduleUrlOf(stage) !== entry)) return;
      const files = Object.values(graph).map((module) => module.path).filter(isFile).sort();
      const { stagePool, workerCodeAccess } = await stagePoolModule;
      const pool = stagePool(project, sessionCode);
      try {
        const access = workerCodeAccess(project, { files, hosts: importHostsOf(graph) });
        pool.startEarly(access, stages[0].permissions, [entry]);
      } catch {
        // Not here (the launcher's process, say): the first worker starts as usual.
        await pool.close();
        return;
      }
      earlyPool = pool;
      mark("session: first worker started");
    },
  };
  const fingerprintOptions = {
    projectRoot: project.root,
    denoConfig,
    pivotRoot: PIVOT_ROOT,
    state,
    ...(options.earlyWorker ? { coldGraph } : {}),
    ...(config.userCache ? { userCache: analysisCacheFolder } : {}),
  };

  // PIVOT_LOAD_CACHE=off: always load the normal way (to compare, or to rule the cache out).
  let useCache = Deno.env.get("PIVOT_LOAD_CACHE") === "off" ? undefined : options.loadCache;
  const freshLoader = new FreshLoader();
  /** The fast answer's names (lib/cli/noop_record.ts). */
  let recordedNoop: readonly string[] | undefined;
  /** What a record written by this session rests on besides the verified index. */
  let recordBasis:
    | { basis: NoopRecordBasis; key: LoadCacheKey; file: FileStamp }
    | undefined;
  const load = async (fresh: boolean): Promise<EngineContext> => {
    const context = {
      project,
      state,
      cache,
      checkoutMode: config.checkoutMode,
      warn: options.warn,
    };
    if (pipelineFile === undefined) {
      // Tracked data only: no stages, and no pipeline is loaded.
      return { ...context, graph: buildGraph([], { exists }), fingerprints: new Map() };
    }
    const since = racyClock();
    const paramsYaml = await readParamsOverrides(project, state);
    // The load cache, unless reloading (watch mode), type-checking or told not to.
    const cacheMode = fresh || typeCheck || useCache === undefined ? undefined : useCache;
    // A dep missing from the workspace but tracked (a .pvt file records it) is an input
    // that 'pivot checkout' restores, not an error.
    const graphOptions = { exists: (abs: string) => exists(abs) || isTracked(abs, project.root) };
    let cached: LoadedStages | undefined;
    let derived: Partial<LoadDerived> = {};
    let keptDigests: unknown;
    const basis = {
      project,
      pipelineFile,
      denoConfig,
      paramsYaml,
      config,
    };
    recordBasis = undefined;
    if (cacheMode === "verified" && options.noopRecord === true && !fresh) {
      recordedNoop = await recordedStages(basis, state);
      if (recordedNoop !== undefined) {
        mark("session: answered from the no-op record");
        return { ...context, graph: buildGraph([], { exists }), fingerprints: new Map() };
      }
    }
    let key: LoadCacheKey | undefined;
    let keyFile: FileStamp | undefined;
    if (cacheMode !== undefined) {
      const read = readLoadCache(project, pipelineFile, denoConfig, paramsYaml, graphOptions);
      if ("hit" in read) {
        cached = read.hit.loaded;
        derived = { graph: read.hit.graph, fingerprints: read.hit.fingerprints };
        keptDigests = read.hit.digests;
        key = read.hit.key;
        keyFile = read.hit.file;
        mark("session: load cache hit");
      } else {
        mark(`session: load cache miss: ${read.miss}`);
      }
    }
    // Importing the user's modules needs their deno.json: in the launcher's
    // own process (lib/launcher_attempt.ts), that is its child's work.
    if (cached === undefined) needChild("importing the pipeline");
    const probed = new Map<string, string | undefined>();
    const loaded = cached ??
      (fresh
        ? await freshLoader.load(project, pipelineFile, paramsYaml)
        : await (await discovery()).loadStagesWithProducers(project, pipelineFile, {
          paramsYaml,
          state,
          probed,
        }));
    await checkParamsStages(project, paramsYaml, loaded);
    mark("session: pipeline loaded");
    if (cached === undefined) {
      // Transpiling and compiling a changed module of megabytes leaves ~150 MiB
      // freed in the allocator: given back before the fingerprint adds its own.
      const { releaseFreedMemory } = await import("../free_memory.ts");
      releaseFreedMemory();
      mark("session: freed memory released");
    }
    rememberStageNames(project, pipelineFile, loaded.stages);
    if (typeCheck) {
      await (await typeChecker()).typeCheckPipeline(
        project,
        // A command stage has no module: its command is not TypeScript.
        loaded.stages.flatMap((stage) =>
          stage.code.kind === "command" ? [] : [stage.code.moduleUrl]
        ),
        denoConfig,
      );
      mark("session: type-checked");
    }
    const graph = derived.graph ?? buildGraph(loaded.stages, graphOptions);
    mark("session: graph built");
    earlyStages = earlyPool === undefined && graph.order.length <= EARLY_WORKER_MAX_STAGES
      ? graph.order
      : undefined;
    const fingerprints = options.fingerprint === false
      ? new Map()
      : derived.fingerprints ?? await fingerprintStages(graph.order, fingerprintOptions);
    earlyStages = undefined;
    mark("session: fingerprinted");
    // A function of the stages and their fingerprints: a load cache holding both was
    // written only after the load that derived them passed it.
    if (derived.graph !== graph || derived.fingerprints !== fingerprints) {
      refuseOutsOverCode({ project, graph, fingerprints });
    }
    const loadedContext = { ...context, graph, fingerprints };
    if (cached !== undefined && cacheMode === "verified") {
      // Decided from cached stages only when every one is up to date by the
      // verified index (its answer is reused by the decision that follows).
      const { seedDigests, verifiedIndexOf } = await import("../engine/verified.ts");
      // The digests the cache kept are those of these stages with these fingerprints.
      if (derived.fingerprints === fingerprints) {
        seedDigests(loaded.stages, fingerprints, keptDigests);
      }
      const index = await verifiedIndexOf(state);
      if (index.check(loadedContext, graph.order, true, true).size !== graph.order.length) {
        mark("session: load cache hit, but a stage is not verified: loading");
        useCache = undefined;
        try {
          return await load(false);
        } finally {
          useCache = cacheMode;
        }
      }
      mark("session: every stage verified");
      // The fingerprints too are the cache's: the key binds all the answer rests on.
      if (
        options.noopRecord === true && key !== undefined && keyFile !== undefined &&
        derived.graph === graph && derived.fingerprints === fingerprints
      ) {
        recordBasis = { basis, key, file: keyFile };
      }
    }
    // Written with the fingerprints it keeps: not by a command that does not compute them.
    if (cacheMode !== undefined && cached === undefined && options.fingerprint !== false) {
      // A big pipeline's fingerprint leaves ~40 MiB of dead syntax trees in the
      // heap's pages: collected before the cache's record is built on top of them.
      const { releaseHeapAndFreed } = await import("../free_memory.ts");
      await releaseHeapAndFreed();
      const { stageDigests } = await import("../engine/verified.ts");
      const why = await writeLoadCache(
        project,
        pipelineFile,
        paramsYaml,
        loaded,
        { graph, fingerprints, digests: stageDigests(loaded.stages, fingerprints) },
        { since, probed },
        fingerprintOptions,
      );
      mark(
        why === undefined
          ? "session: load cache written"
          : `session: load cache not written: ${why}`,
      );
    }
    return loadedContext;
  };

  try {
    // Nothing is loaded up front: a no-op reads the verified index
    // (lib/engine/verified.ts), and parsed lock files only when it fails.
    mark("session: state open");
    context = await load(false);
    // The stages are known without the user's code: a command the launcher
    // attempts in its own process ends there.
    commitAttempt();
    return {
      project,
      pipelineFile,
      get context() {
        return context;
      },
      jobs: config.jobs,
      historyLimit: config.history,
      code: sessionCode,
      reload: async () => {
        context = await load(true);
        code = undefined;
        return context;
      },
      prepareReload: (changed) => {
        if (pipelineFile === undefined) return;
        freshLoader.prepare();
        // The reload's fingerprint analyses a changed module whose text is
        // new: TypeScript, loaded once a process (~180 ms of this thread),
        // is loaded now.
        if (options.fingerprint !== false) void prepareAnalysis(fingerprintOptions, changed);
      },
      takeEarlyPool: () => {
        const pool = earlyPool;
        earlyPool = undefined;
        return pool;
      },
      recordedNoop,
      recordNoop: async (names) => {
        const basis = recordBasis;
        if (basis === undefined) return;
        const { verifiedIndexOf } = await import("../engine/verified.ts");
        const witness = (await verifiedIndexOf(state)).noopWitness();
        if (witness === undefined) {
          mark("noop record: the check did not rest on the gate alone: not written");
          return;
        }
        writeNoopRecord(basis.basis, names, witness, basis.key, basis.file);
      },
      closeWith: (work) => void closing.push(work),
      close: async () => {
        freshLoader.close();
        try {
          await earlyPool?.close();
          mark("session: closing");
          await state.close();
          mark("session: state closed");
        } finally {
          await Promise.all(closing);
          closeTempJournal();
        }
      },
    };
  } catch (error) {
    await earlyPool?.close();
    state.kv.close();
    closeTempJournal();
    throw error;
  }
}

/**
 * What workers may load for `stages`: the module graphs of every module
 * whose code they run (each pipeline.ts, each module a pivot.yaml names),
 * from the fingerprint's cached graphs.
 */
async function stagesCodeAccess(
  stages: readonly StageDef[],
  options: FingerprintOptions,
): Promise<{ files: string[]; hosts: string[] }> {
  const entries = [...new Set(stages.flatMap((stage) => moduleUrlOf(stage) ?? []))];
  const graphs = await Promise.all(entries.map((entry) => codeAccessOf(entry, options)));
  // A command stage's definition also reads params and `vars` files.
  const definitionFiles = stages.flatMap((stage) =>
    stage.code.kind === "command" ? stage.code.files : []
  );
  return {
    files: [...new Set([...graphs.flatMap((graph) => graph.files), ...definitionFiles])],
    hosts: [...new Set(graphs.flatMap((graph) => graph.hosts))],
  };
}

/**
 * The modules that load a pipeline and check its types, imported when first
 * needed: a session answered from the load cache (a checkout, a no-op) uses
 * neither, and loading them cost its start ~5-9 ms (issue 16, i16-co15).
 */
const discovery = () => import("../pipeline/discovery.ts");
const typeChecker = () => import("../pipeline/type_check.ts");
