/**
 * The stage panel's content ({@link StageDetail}): the stage's declaration
 * (params, deps, outs), the explanation of the latest prediction (the same
 * decision `status --explain` prints), its hashes, and the log and durations
 * of its runs.
 *
 * @module
 */

import type { EngineContext } from "../engine/context.ts";
import { readStageLog } from "../engine/stage_log.ts";
import { listRuns, readStages } from "../storage/run_history.ts";
import { fromFileUrl } from "../paths.ts";
import type { StageDef } from "../model/stage_def.ts";
import type { LiveState } from "./live_state.ts";
import type { RunRecord, StageDetail } from "./protocol.ts";

/**
 * The detail of stage `name`, or undefined when there is no such stage. The
 * log is the one this server saw last, else the one recorded in the state
 * store by whichever process ran the stage last.
 */
export async function stageDetail(
  state: LiveState,
  context: EngineContext,
  name: string,
  seq: number,
): Promise<StageDetail | undefined> {
  const live = state.stage(name);
  const stage = context.graph.byName.get(name);
  if (!live || !stage) return undefined;
  const root = context.project.root;
  const decision = live.decision;
  const depHashes = new Map((decision?.deps ?? []).map((d) => [d.path, d.hash]));
  const outHashes = new Map((decision?.lock?.outs ?? []).map((o) => [o.path, o.hash]));
  const producers = context.graph.producersOfDep.get(name);
  const runAt = context.fingerprints.get(name)?.locations["self:run"];
  const definedAt = declarationOf(stage, root);
  const stored = live.log ? undefined : await readStageLog(context.state, name);
  const log = live.log ?? (stored
    ? {
      lines: stored.lines,
      dropped: stored.dropped,
      running: false,
      finished: stored.finished,
      status: stored.status,
    }
    : null);
  return {
    node: live.node,
    state: live.state,
    ...(definedAt ? { definedAt } : {}),
    ...(runAt ? { runAt: { file: runAt.file, line: runAt.line } } : {}),
    ...(live.explain ? { explain: live.explain } : {}),
    params: stage.params,
    deps: stage.deps.map((dep) => {
      const producer = producers?.get(dep.path)?.[0]?.stage.name;
      return {
        path: dep.path + (dep.isDir ? "/" : ""),
        hash: depHashes.get(dep.path) ?? null,
        ...(producer !== undefined ? { producer } : {}),
      };
    }),
    outs: stage.outs.map((out) => ({
      path: out.path + (out.isDir ? "/" : ""),
      kind: out.kind,
      cache: out.cache,
      hash: outHashes.get(out.path) ?? null,
    })),
    mutex: stage.mutex,
    log,
    runs: await recentRuns(context, name, live.runs, stored),
    seq,
  };
}

/** How many runs of the history are looked through for a stage's recent runs. */
const HISTORY_SCANNED = 50;
/** How many recent runs the panel shows. */
const RUNS_SHOWN = 20;

/**
 * The recent runs of stage `name`, newest first: those of the run history
 * (`pivot history`: every wave of every process, this server's included),
 * then those this server saw that the history does not hold yet (it is
 * written after a wave ends) or at all (`--no-commit`); without either, the
 * run whose log the state store kept.
 */
async function recentRuns(
  context: EngineContext,
  name: string,
  seen: readonly RunRecord[],
  stored: { finished: number; status: string; duration_ms: number } | undefined,
): Promise<RunRecord[]> {
  const recorded: RunRecord[] = [];
  for (const header of await listRuns(context.state, HISTORY_SCANNED)) {
    const stage = (await readStages(context.state, header)).find((s) => s.name === name);
    if (!stage || stage.status === "skipped" || stage.status === "blocked") continue;
    recorded.push({
      finished: Date.parse(header.started) + header.duration_ms,
      status: stage.status,
      duration_ms: stage.duration_ms,
      command: header.command,
      run: header.id,
    });
    if (recorded.length === RUNS_SHOWN) break;
  }
  const latest = recorded[0]?.finished ?? 0;
  const runs = [...seen.filter((run) => run.finished > latest), ...recorded].slice(0, RUNS_SHOWN);
  if (runs.length > 0 || !stored) return runs;
  return [{ finished: stored.finished, status: stored.status, duration_ms: stored.duration_ms }];
}

/** Where the stage is declared: its `pipeline.stage(…)` call, or its `pivot.yaml`. */
function declarationOf(
  stage: StageDef,
  root: string,
): { file: string; line: number } | undefined {
  if (stage.code.kind === "registered") {
    const url = stage.code.site.url;
    if (!url.startsWith("file:")) return undefined;
    return { file: relative(root, fromFileUrl(url)), line: stage.code.site.line };
  }
  // A command stage knows its line in pivot.yaml; a function stage of pivot.yaml has none here.
  if (stage.code.kind === "command") return { ...stage.code.site };
  return { file: relative(root, stage.pipeline.file), line: 0 };
}

function relative(root: string, path: string): string {
  return path.startsWith(root + "/") ? path.slice(root.length + 1) : path;
}
