/**
 * A real project on disk for engine and worker tests: a `pivot.yaml` whose
 * stages are plain functions in `stages.ts`, loaded by the real YAML loader,
 * with a real state store, cache, worker pool and engine. Only code
 * fingerprints are left out (every stage's code manifest is empty), so
 * these tests do not run `deno info`.
 *
 * @module
 */

import { join } from "node:path";
import { Engine } from "../../lib/engine/engine.ts";
import type { EngineContext } from "../../lib/engine/context.ts";
import type { EngineEvent, StageEvent, SummaryEvent } from "../../lib/engine/events.ts";
import { buildGraph } from "../../lib/graph/graph.ts";
import { projectAt } from "../../lib/model/project.ts";
import type { StageDef } from "../../lib/model/stage_def.ts";
import { ownCodePaths } from "../../lib/own_code.ts";
import { exists } from "../../lib/paths.ts";
import { loadYamlPipeline } from "../../lib/pipeline/load_yaml.ts";
import { emptyParamsYaml } from "../../lib/pipeline/params.ts";
import { Cache, type CacheOptions, type CheckoutMode } from "../../lib/storage/cache.ts";
import { StateStore } from "../../lib/storage/state.ts";
import { WorkerPool } from "../../lib/worker/pool.ts";
import { type TempDir, tempDir } from "../_project.ts";

/** An open test project; dispose it to stop its workers and remove it. */
export interface EngineProject extends AsyncDisposable {
  /** Its directory. */
  readonly dir: TempDir;
  /** The loaded pipeline, stores and graph (replaced by {@link reload}). */
  readonly context: EngineContext;
  /** The worker pool stages run in. */
  readonly pool: WorkerPool;
  /** Every event of every wave so far. */
  readonly events: EngineEvent[];
  /** The stage named `name`. */
  stage(name: string): StageDef;
  /** Load `pivot.yaml` again (after editing it or the data). */
  reload(): Promise<void>;
  /** Run a wave of every stage (or `names`); resolves with its summary. */
  wave(options?: WaveOptions): Promise<SummaryEvent>;
  /** The `stage` events of the last wave, by stage name. */
  lastWave(): Map<string, StageEvent>;
}

/** Options of {@link EngineProject.wave}. */
export interface WaveOptions {
  /** Stages to consider (default: all, in pipeline order). */
  readonly names?: readonly string[];
  /** Stages executing at once (default 2). */
  readonly jobs?: number;
  /** Go on after a failure. */
  readonly keepGoing?: boolean;
  /** Run these even if up to date. */
  readonly force?: readonly string[];
  /** Commit queued state writes every this many recorded runs (the engine's default otherwise). */
  readonly commitEvery?: number;
  /** False: settle verified stages in the engine's general loop, never all at once. */
  readonly settleAllAtOnce?: boolean;
  /** Called with each event as it is emitted (on the engine's thread, before it goes on). */
  readonly onEvent?: (event: EngineEvent) => void;
}

/** Options of {@link engineProject}. */
export interface EngineProjectOptions {
  /** The checkout mode (default `hardlink`). */
  readonly checkoutMode?: CheckoutMode;
  /**
   * The cache's pace of object creates; given, the cache also remembers
   * objects' stamps in the state store, as a CLI session's does (default:
   * neither).
   */
  readonly pace?: CacheOptions["pace"];
}

/**
 * Write `files` (relative path → text) into a fresh project (with `.pivot/`)
 * and open it. `files` should hold `pivot.yaml` and `stages.ts`.
 */
export async function engineProject(
  files: Record<string, string>,
  options: EngineProjectOptions = {},
): Promise<EngineProject> {
  const dir = await tempDir();
  await Deno.mkdir(dir.path(".pivot"));
  for (const [path, text] of Object.entries(files)) await dir.write(path, text);
  const project = projectAt(dir.root);
  const state = await StateStore.open(project.stateDir);
  const cache = new Cache(project.cacheDir, options.pace ? { pace: options.pace, state } : {});
  const events: EngineEvent[] = [];
  const load = async (): Promise<EngineContext> => {
    const { stages } = await loadYamlPipeline(
      project,
      dir.path("pivot.yaml"),
      emptyParamsYaml(),
    );
    return {
      project,
      graph: buildGraph(stages, { exists }),
      fingerprints: new Map(),
      state,
      cache,
      checkoutMode: options.checkoutMode ?? "hardlink",
      warn: (message) => events.push({ type: "warning", message }),
    };
  };
  let context = await load();
  const pool = new WorkerPool({
    stagingRoot: join(project.tmpDir, "run-test"),
    codeAccess: () => Promise.resolve({ read: [dir.root, ...ownCodePaths()], importHosts: [] }),
    graceMs: 500,
  });
  let waveStart = 0;
  return {
    dir,
    get context() {
      return context;
    },
    pool,
    events,
    stage: (name) => context.graph.byName.get(name)!,
    async reload() {
      context = await load();
    },
    async wave(options = {}) {
      const engine = new Engine(context, pool);
      waveStart = events.length;
      engine.subscribe((event) => {
        events.push(event);
        options.onEvent?.(event);
      });
      const names = new Set(options.names ?? context.graph.order.map((s) => s.name));
      return await engine.runWave({
        stages: context.graph.order.filter((s) => names.has(s.name)),
        force: new Set(options.force ?? []),
        keepGoing: options.keepGoing ?? false,
        jobs: options.jobs ?? 2,
        noCommit: false,
        ...(options.commitEvery !== undefined ? { commitEvery: options.commitEvery } : {}),
        ...(options.settleAllAtOnce !== undefined
          ? { settleAllAtOnce: options.settleAllAtOnce }
          : {}),
      });
    },
    lastWave() {
      const result = new Map<string, StageEvent>();
      for (const event of events.slice(waveStart)) {
        if (event.type === "stage") result.set(event.stage, event);
      }
      return result;
    },
    async [Symbol.asyncDispose]() {
      await pool.close();
      await state.close();
      await dir[Symbol.asyncDispose]();
    },
  };
}
