/**
 * `pivot repro --watch [--serve] [--ui]`: run once, then watch the
 * pipeline's deps, code and definition files and re-run what a change
 * affects, until Ctrl-C. With `--serve`, also answer JSON-RPC on
 * `.pivot/agent.sock`; with `--ui`, also serve the web UI. `pivot ui` is the
 * same loop without the first run, where changes only refresh what the page
 * shows.
 *
 * The sources (first run request, file watcher, agent socket, web UI) push
 * into the same driver as a batch run; the sinks (console or JSON Lines, RPC
 * subscribers, web pages) receive the same events.
 *
 * @module
 */

import { basename, join } from "node:path";
import type { EngineContext } from "../engine/context.ts";
import type { Driver } from "../engine/driver.ts";
import { predictStatus } from "../engine/plan.ts";
import { PivotError } from "../errors.ts";
import { PARAMS_FILE } from "../pipeline/params.ts";
import { type AgentHandler, AgentServer, RPC, RpcError } from "../watch/agent.ts";
import { describeWatchError, Watcher, type WatchSet } from "../watch/watcher.ts";
import { type CommandEnv, intOption } from "./command.ts";
import { listJson, statusJson } from "./explain.ts";
import type { Session } from "./session.ts";
import { openInBrowser } from "./open_browser.ts";
import { consoleSink, jsonSink } from "./sinks.ts";
import { VERSION } from "../version.ts";
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
  /**
   * Run the selected stages first, and then what each change affects
   * (`repro --watch`); when false, run only what is asked for (`pivot ui`).
   */
  readonly run: boolean;
  /** Serve the web UI (`--ui`, `pivot ui`). */
  readonly ui?: UiOptions;
}

/** Where and how to serve the web UI. */
export interface UiOptions {
  /** Address to listen on. */
  readonly hostname: string;
  /** Port (0: a free one). */
  readonly port: number;
  /** Open the page in a browser. */
  readonly open: boolean;
}

/**
 * The web UI's options from `--host`, `--port` and `--no-open` (of `pivot
 * ui`, or `repro --watch --ui`).
 */
export function uiOptionsOf(
  values: Readonly<Record<string, unknown>>,
  command: string,
): UiOptions {
  const port = intOption(values.port, "port", command, 0);
  if (port !== undefined && port > 65535) {
    throw new PivotError(`${command}: --port expects a port from 0 to 65535, got '${port}'`);
  }
  const host = values.host as string | undefined;
  if (host !== undefined && !/^[A-Za-z0-9.:-]+$/.test(host)) {
    throw new PivotError(
      `${command}: --host expects a host name or IP address, got '${host}'`,
    );
  }
  return { hostname: host ?? "127.0.0.1", port: port ?? 0, open: !values["no-open"] };
}

/** The agent socket's path in a project. */
function agentSocketPath(session: Session): string {
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
  const driver = driverFor(session, flags, env, options.run);
  driver.subscribe(flags.json ? jsonSink(env.output) : consoleSink(env.output));
  const history = historyFor(driver, session, flags, env);
  if (options.run && !flags.json && !env.output.quiet) {
    driver.subscribe((event) => {
      if (event.type === "summary") {
        env.output.error(`Watching for changes (Ctrl-C to stop)…`);
      }
    });
  }
  const stop = () => {
    driver.push({ type: "cancel" });
    driver.stop();
  };
  // Watching that fails (the system's watch limit, say) would leave changes
  // unseen while the user waits for them: say so and stop.
  let failure: string | undefined;
  const fail = (error: unknown) => {
    if (failure !== undefined) return;
    failure = describeWatchError(error);
    env.output.error(`error: ${failure}; watch mode stopped`);
    stop();
  };
  // Nobody reads the events any more (`pivot repro --watch --json | head`).
  env.output.onStdoutClosed(stop);
  // The UI first: its page is served while the watcher starts.
  const ui = options.ui ? await serveUi(session, driver, options, flags, env) : undefined;
  let watcher: Watcher | undefined;
  let agent: AgentServer | undefined;
  try {
    const watching = new Watcher(await watchSetOf(session, session.context), {
      debounceMs: options.debounceMs,
      onBatch: (batch) => driver.push({ type: "changes", data: batch.data, code: batch.code }),
      onCodeSeen: (changed) => driver.prepareReload(changed),
      onError: fail,
    });
    watcher = watching;
    const reaim = async (context: EngineContext) =>
      watching.update(await watchSetOf(session, context));
    let watchedContext = session.context;
    driver.subscribe((event) => {
      // After a reload the set of deps and modules may have changed.
      if (event.type === "wave-start" && driver.context !== watchedContext) {
        watchedContext = driver.context;
        reaim(watchedContext).catch(fail);
      }
    });
    if (options.serve) {
      agent = await AgentServer.listen(agentSocketPath(session), agentHandler(driver))
        .catch((error) => {
          throw new PivotError(error.message);
        });
    }
    // Ctrl-C may have come while the watcher and the agent were starting:
    // a listener added now would never fire.
    if (env.signal.aborted) return 130;
    if (failure !== undefined) return 2;
    env.signal.addEventListener("abort", stop, { once: true });
    // A Ctrl-C during start-up (loading, fingerprinting, starting servers)
    // came before the listener: stop before running anything.
    if (env.signal.aborted) stop();
    else if (options.run) {
      driver.push({ type: "run", stages: options.stages, force: options.force });
    }
    await driver.run();
    await history.done();
    env.signal.removeEventListener("abort", stop);
    // Ctrl-C is how `pivot ui` ends; it interrupts a `repro --watch`.
    if (failure !== undefined) return 2;
    return options.run && env.signal.aborted ? 130 : 0;
  } finally {
    watcher?.close();
    agent?.close();
    await ui?.close();
  }
}

/**
 * Start the web UI on `driver` and say where it is: the URL with its token
 * on stdout (stderr with `--json`, which keeps stdout for events), then open
 * it unless `--no-open`. The UI's code is imported only here.
 */
async function serveUi(
  session: Session,
  driver: Driver,
  options: WatchOptions,
  flags: RunFlags,
  env: CommandEnv,
): Promise<{ close(): Promise<void> }> {
  const ui = options.ui!;
  const { UiServer } = await import("../ui/server.ts");
  const pipeline = session.context.graph.order.find((s) => s.pipeline.file === session.pipelineFile)
    ?.pipeline.name;
  const server = await UiServer.start({
    driver,
    facts: {
      name: pipeline ?? basename(session.project.root),
      root: session.project.root,
      version: VERSION,
      mode: options.run ? "watch" : "ui",
    },
    hostname: ui.hostname,
    port: ui.port,
  });
  const say = (text: string) => flags.json ? env.output.error(text) : env.output.line(text);
  say(`Pivot UI: ${server.url}`);
  if (!options.run) say("Serving until Ctrl-C.");
  if (!isLoopback(ui.hostname)) {
    env.output.error(
      `warning: the UI listens on ${ui.hostname}: other machines can reach it (the token still guards it)`,
    );
  }
  if (ui.open) {
    const problem = openInBrowser(server.url);
    if (problem) env.output.error(`warning: ${problem}: open the URL yourself, or set BROWSER`);
  }
  return server;
}

function isLoopback(hostname: string): boolean {
  return hostname === "localhost" || hostname === "::1" || hostname.startsWith("127.");
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
