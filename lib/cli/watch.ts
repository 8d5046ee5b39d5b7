/**
 * `pivot repro --watch [--serve]`: run once, then watch the pipeline's deps,
 * code and definition files and re-run what a change affects, until Ctrl-C.
 * With `--serve`, also answer JSON-RPC on `.pivot/agent.sock`.
 *
 * The sources (first run request, file watcher, agent socket) push into the
 * same driver as a batch run; the sinks (console or JSON Lines, RPC
 * subscribers) receive the same events.
 *
 * @module
 */

import { join } from "node:path";
import type { EngineContext } from "../engine/context.ts";
import type { Driver } from "../engine/driver.ts";
import { predictStatus } from "../engine/plan.ts";
import { PivotError } from "../errors.ts";
import { PARAMS_FILE } from "../pipeline/params.ts";
import { type AgentHandler, AgentServer, RPC, RpcError } from "../watch/agent.ts";
import { Watcher, type WatchSet } from "../watch/watcher.ts";
import type { CommandEnv } from "./command.ts";
import { listJson, statusJson } from "./explain.ts";
import type { Session } from "./session.ts";
import { consoleSink, jsonSink } from "./sinks.ts";
import { selectStages } from "./targets.ts";
import { driverFor, historyFor, type RunFlags } from "./wave.ts";

/** Options of watch mode. */
export interface WatchOptions {
  /** Stages named on the command line (with their upstream). */
  readonly stages: readonly string[];
  /** `--force` for the first run. */
  readonly force: boolean;
  /** `--debounce MS`. */
  readonly debounceMs: number;
  /** `--serve`: listen on `.pivot/agent.sock`. */
  readonly serve: boolean;
}

/** The agent socket's path in a project. */
export function agentSocketPath(session: Session): string {
  return join(session.project.pivotDir, "agent.sock");
}

/** What to watch for the current pipeline. */
async function watchSetOf(session: Session, context: EngineContext): Promise<WatchSet> {
  const stages = context.graph.order;
  const root = session.project.root;
  const code = await session.code();
  return {
    depFiles: new Set(stages.flatMap((s) => s.deps.filter((d) => !d.isDir).map((d) => d.abs))),
    depDirs: stages.flatMap((s) => s.deps.filter((d) => d.isDir).map((d) => d.abs)),
    codeFiles: new Set([
      ...code.files,
      session.pipelineFile,
      join(root, PARAMS_FILE),
      join(root, "deno.json"),
      join(root, "deno.jsonc"),
      join(root, "deno.lock"),
    ]),
    outs: [...stages.flatMap((s) => s.outs.map((o) => o.abs)), session.project.pivotDir],
  };
}

/** Run watch mode; resolves with the exit code once stopped (Ctrl-C). */
export async function watch(
  session: Session,
  options: WatchOptions,
  flags: RunFlags,
  env: CommandEnv,
): Promise<number> {
  const driver = driverFor(session, flags, env);
  driver.subscribe(flags.json ? jsonSink(env.output) : consoleSink(env.output));
  const history = historyFor(driver, session, flags, env);
  if (!flags.json && !env.output.quiet) {
    driver.subscribe((event) => {
      if (event.type === "summary") {
        env.output.error(`Watching for changes (Ctrl-C to stop)…`);
      }
    });
  }
  const watcher = new Watcher(await watchSetOf(session, session.context), {
    debounceMs: options.debounceMs,
    onBatch: (batch) => driver.push({ type: "changes", data: batch.data, code: batch.code }),
  });
  const reaim = async (context: EngineContext) =>
    watcher.update(await watchSetOf(session, context));
  driver.subscribe((event) => {
    // After a reload the set of deps and modules may have changed.
    if (event.type === "wave-start" && driver.context !== watchedContext) {
      watchedContext = driver.context;
      reaim(watchedContext).catch((error) => env.output.error(`error: ${error.message}`));
    }
  });
  let watchedContext = session.context;

  let agent: AgentServer | undefined;
  try {
    if (options.serve) {
      agent = await AgentServer.listen(agentSocketPath(session), agentHandler(driver))
        .catch((error) => {
          throw new PivotError(error.message);
        });
    }
    const stop = () => {
      driver.push({ type: "cancel" });
      driver.stop();
    };
    // Ctrl-C may have come while the watcher and the agent were starting:
    // a listener added now would never fire.
    if (env.signal.aborted) return 130;
    env.signal.addEventListener("abort", stop, { once: true });
    const orphanCheck = stopWhenOrphaned(stop);
    driver.push({ type: "run", stages: options.stages, force: options.force });
    await driver.run();
    await history.done();
    clearInterval(orphanCheck);
    env.signal.removeEventListener("abort", stop);
    return env.signal.aborted || orphaned ? 130 : 0;
  } finally {
    watcher.close();
    agent?.close();
  }
}

let orphaned = false;

/**
 * When the launcher process is killed outright (SIGKILL cannot be passed
 * on), this process is re-parented; a long-running watch then stops too
 * rather than live on unseen.
 */
function stopWhenOrphaned(stop: () => void): ReturnType<typeof setInterval> | undefined {
  if (Deno.env.get("PIVOT_CHILD") !== "1") return undefined;
  const parent = Deno.ppid;
  const timer = setInterval(() => {
    if (Deno.ppid === parent) return;
    orphaned = true;
    clearInterval(timer);
    stop();
  }, 1_000);
  Deno.unrefTimer(timer);
  return timer;
}

function agentHandler(driver: Driver): AgentHandler {
  const decisions = async (names?: readonly string[]) => {
    const context = driver.context;
    const shown = names && names.length > 0
      ? selectStages(context.graph, names)
      : context.graph.order;
    return await predictStatus(context, shown);
  };
  return {
    run(params: { stages?: string[]; force?: boolean }) {
      if (params.stages && params.stages.length > 0) {
        try {
          selectStages(driver.context.graph, params.stages);
        } catch (error) {
          throw new RpcError(RPC.invalidParams, (error as Error).message);
        }
      }
      driver.push({ type: "run", stages: params.stages, force: params.force });
      return Promise.resolve({ queued: true, running: driver.busy });
    },
    cancel() {
      const running = driver.busy;
      driver.push({ type: "cancel" });
      return Promise.resolve({ cancelled: running });
    },
    async status() {
      return { stages: (await decisions()).map(statusJson) };
    },
    stages() {
      return Promise.resolve(listJson(driver.context.graph.order));
    },
    async explain(stage: string) {
      if (!driver.context.graph.byName.has(stage)) {
        throw new RpcError(RPC.invalidParams, `unknown stage '${stage}'`);
      }
      const [decision] = await decisions([stage]);
      return statusJson(decision);
    },
    subscribe: (send) => driver.subscribe(send),
  };
}
