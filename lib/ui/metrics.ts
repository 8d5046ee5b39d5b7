/**
 * The UI's Metrics tab: the project's metrics in the workspace beside their
 * values at git HEAD — the same reading and diff as `pivot metrics diff
 * --all` (`lib/outputs/metrics.ts`), so the two front ends never disagree.
 *
 * Imported when the tab first asks, not when the UI starts.
 *
 * @module
 */

import type { EngineContext } from "../engine/context.ts";
import { messageOf, PivotError } from "../errors.ts";
import type { OutsSource } from "../outputs/outs_at_revision.ts";
import type { MetricsView } from "./protocol.ts";

const WORKSPACE: OutsSource = { kind: "workspace" };
const HEAD: OutsSource = { kind: "revision", rev: "HEAD" };

/**
 * Every metric of `context`'s project: its value at HEAD and in the
 * workspace, the change, and whether it changed. A HEAD that cannot be read
 * (no git, no commit yet) leaves the old column empty and says why.
 *
 * @throws {PivotError} never: a metric file that cannot be read is reported
 * in {@link MetricsView.problem}.
 */
export async function metricsView(context: EngineContext): Promise<MetricsView> {
  const { declaredMetrics, diffMetrics, metricsAt } = await import("../outputs/metrics.ts");
  const { lockFilesFor } = await import("../outputs/outs_at_revision.ts");
  const { walkSkips } = await import("../storage/project_files.ts");
  const { graph, project, cache, state } = context;
  const root = project.root;
  const declared = declaredMetrics(graph.order);
  const skip = walkSkips(root, cache.dir);
  const at = async (source: OutsSource) =>
    metricsAt(source, {
      root,
      cache,
      state,
      declared,
      lockFiles: await lockFilesFor(root, graph.order, [source], skip),
    });
  let current;
  try {
    current = await at(WORKSPACE);
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    return { base: "HEAD", rows: [], files: [], problem: messageOf(error) };
  }
  let base: Awaited<ReturnType<typeof at>> = new Map();
  let baseProblem: string | undefined;
  try {
    base = await at(HEAD);
  } catch (error) {
    if (!(error instanceof PivotError)) throw error;
    baseProblem = messageOf(error);
  }
  const changed = new Set(diffMetrics(base, current).map((row) => `${row.path}\0${row.key}`));
  const stageOf = new Map(declared.map((target) => [target.path, target.stage]));
  const paths = new Set([...current.keys(), ...base.keys()]);
  return {
    base: "HEAD",
    rows: diffMetrics(base, current, { all: true }).map((row) => ({
      path: row.path,
      key: row.key,
      ...(row.old !== undefined ? { old: row.old } : {}),
      ...(row.new !== undefined ? { new: row.new } : {}),
      change: row.change,
      changed: changed.has(`${row.path}\0${row.key}`),
    })),
    files: [...paths].map((path) => {
      const now = current.get(path);
      const then = base.get(path);
      const stage = stageOf.get(path);
      return {
        path,
        ...(stage !== undefined ? { stage } : {}),
        ...(now && !now.found ? { missing: now.reason } : {}),
        ...(then && !then.found ? { baseMissing: then.reason } : {}),
      };
    }),
    ...(baseProblem !== undefined ? { baseProblem } : {}),
  };
}
