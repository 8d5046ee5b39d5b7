/**
 * `pivot metrics show|diff [TARGETS]`: the project's metrics, flattened to
 * dotted keys, in the workspace; and how they changed between git HEAD (or
 * `--rev A`) and the workspace (or `--rev B`). Shapes: docs/metrics.md.
 *
 * @module
 */

import { resolve } from "node:path";
import { PivotError } from "../../errors.ts";
import { projectRelative } from "../../model/project.ts";
import type { StageDef } from "../../model/stage_def.ts";
import type { MetricTarget } from "../../outputs/metrics.ts";
import type { OutsSource } from "../../outputs/outs_at_revision.ts";
import { isFile, lstatOrUndefined } from "../../paths.ts";
import { type Command, diffSources, intOption, subcommandError } from "../command.ts";
import { diffNeed, needingGit } from "../git_need.ts";
import { openSession } from "../session.ts";
import { mark } from "../../trace.ts";
import type { TableFormat } from "../table.ts";

const USAGE = "metrics show|diff [TARGETS...] [options]";

/** The `metrics` command. */
export const metrics: Command = {
  name: "metrics",
  summary: "Show metrics (flattened to dotted keys), or diff them with git HEAD (or --rev).",
  usage: USAGE,
  options: {
    json: { type: "boolean", help: "JSON on stdout" },
    md: { type: "boolean", help: "Markdown tables" },
    precision: {
      type: "string",
      value: "N",
      help: "round non-integer numbers to N decimals (0 to 20)",
    },
    rev: {
      type: "string",
      multiple: true,
      value: "REV",
      help: "diff: a git revision; once: REV vs the workspace, twice: A vs B (default HEAD)",
    },
    all: { type: "boolean", short: "a", help: "diff: also list metrics that did not change" },
  },
  async run({ values, positionals }, env) {
    const [action, ...targets] = positionals;
    if (action !== "show" && action !== "diff") {
      throw subcommandError("metrics", action, USAGE);
    }
    if (values.json && values.md) throw new PivotError("metrics: choose one of --json and --md");
    const revs = (values.rev as string[] | undefined) ?? [];
    if (action === "show" && (revs.length > 0 || values.all)) {
      throw new PivotError("metrics show: --rev and --all apply to 'metrics diff' only");
    }
    const precision = intOption(values.precision, "precision", `metrics ${action}`, 0, 20);
    const format: TableFormat = values.json ? "json" : values.md ? "md" : "text";
    const sources: OutsSource[] = action === "show"
      ? [{ kind: "workspace" }]
      : diffSources("metrics diff", revs);

    // Metrics need the declared outs of the stages, never their code's fingerprints.
    const session = await openSession({
      cwd: env.cwd,
      warn: (message) => env.output.error(`warning: ${message}`),
      fingerprint: false,
    });
    try {
      return await needingGit(action === "diff" ? diffNeed("metrics") : undefined, async () => {
        const { project, graph, cache, state } = session.context;
        const { declaredMetrics, diffMetrics, metricsAt } = await import(
          "../../outputs/metrics.ts"
        );
        const { lockFilesFor, sourceLabel } = await import("../../outputs/outs_at_revision.ts");
        const { walkSkips } = await import("../../storage/project_files.ts");
        const { resolveCommit } = await import("../../storage/read_at_revision.ts");
        const { formatMetricsDiff, formatMetricsShow } = await import("../metrics_table.ts");
        const declared = declaredMetrics(graph.order);
        if (action === "diff" && revs.length === 0) {
          await refuseRevisionTargets(targets, env.cwd, graph.order);
        }
        const select = targets.length === 0 ? undefined : selector(targets, {
          stages: graph.order,
          declared,
          toPath: (name) => projectRelative(project, resolve(env.cwd, name)),
          root: project.root,
          anyRevision: sources.some((source) => source.kind === "revision"),
        });
        const skip = walkSkips(project.root, cache.dir);
        const readAt = async (given: OutsSource) => {
          // Resolved once: the reads at it that follow ask git nothing more.
          const source = given.kind === "revision"
            ? { ...given, commit: await resolveCommit(project.root, given.rev) }
            : given;
          const lockFiles = await lockFilesFor(project.root, graph.order, [source], skip);
          const version = await metricsAt(source, {
            root: project.root,
            cache,
            lockFiles,
            declared,
            select,
            state,
          });
          mark(`metrics: read at ${sourceLabel(source)}`);
          return version;
        };
        // Both sides at once (the workspace is read while git answers for the revision); an
        // error is that of the first source, as if they had been read one after the other.
        const settled = await Promise.allSettled(sources.map(readAt));
        const failed = settled.find((result) => result.status === "rejected");
        if (failed) throw failed.reason;
        const versions = settled.flatMap((result) =>
          result.status === "fulfilled" ? [result.value] : []
        );
        // A file missing everywhere is worth a warning; one missing on one side is a diff row.
        const paths = new Set(versions.flatMap((version) => [...version.keys()]));
        for (const path of paths) {
          const missing = versions.map((version) => version.get(path))
            .map((version, index) => ({ version, label: sourceLabel(sources[index]) }));
          if (missing.some(({ version }) => version?.found)) continue;
          for (const { version, label } of missing) {
            if (version && !version.found) {
              env.output.error(
                `warning: ${path}${sources.length > 1 ? ` at ${label}` : ""}: ${version.reason}`,
              );
            }
          }
        }
        if (action === "show") {
          env.output.raw(formatMetricsShow(versions[0], { format, precision }));
          return 0;
        }
        const rows = diffMetrics(versions[0], versions[1], { all: Boolean(values.all) });
        const labels = [sourceLabel(sources[0]), sourceLabel(sources[1])] as const;
        env.output.raw(formatMetricsDiff(rows, { format, precision, labels }));
        return 0;
      });
    } finally {
      await session.close();
    }
  },
};

interface SelectorContext {
  readonly stages: readonly StageDef[];
  readonly declared: readonly MetricTarget[];
  readonly toPath: (name: string) => string;
  readonly root: string;
  /** A revision is read too: a path absent from the workspace may be there. */
  readonly anyRevision: boolean;
}

/**
 * The metric files `targets` name among those known at a source: a stage
 * (its metrics), a metric's path or a directory holding metrics (relative
 * to the current directory), or any other file (read as a metric file).
 */
function selector(
  targets: readonly string[],
  context: SelectorContext,
): (known: readonly MetricTarget[]) => MetricTarget[] {
  const wanted = targets.map((name) => {
    const stage = context.stages.find((candidate) => candidate.name === name);
    if (stage) {
      const own = context.declared.filter((target) => target.stage === stage.name);
      if (own.length === 0) {
        throw new PivotError(`metrics: stage '${name}' declares no metric: see 'pivot list'`);
      }
      return { name, stage: stage.name, path: undefined };
    }
    const path = context.toPath(name);
    if (path === ".." || path.startsWith("../")) {
      throw new PivotError(`metrics: '${name}' is outside the project ${context.root}`);
    }
    return { name, stage: undefined, path };
  });
  return (known) => {
    const picked = new Map<string, MetricTarget>();
    for (const target of wanted) {
      if (target.stage !== undefined) {
        for (const metric of known) {
          if (metric.stage === target.stage) picked.set(metric.path, metric);
        }
        continue;
      }
      const path = target.path!;
      const inside = known.filter((metric) =>
        path === "" || metric.path === path || metric.path.startsWith(`${path}/`)
      );
      if (inside.length > 0) {
        for (const metric of inside) picked.set(metric.path, metric);
      } else if (context.anyRevision || isFile(`${context.root}/${path}`)) {
        picked.set(path, { path });
      } else {
        throw new PivotError(
          `metrics: '${target.name}' is neither a metric, a stage nor a file in the project: see 'pivot list'`,
        );
      }
    }
    return [...picked.values()];
  };
}

/**
 * DVC's `metrics diff A B` names revisions where Pivot takes targets: a
 * target that is no file and no stage but a git revision gets a one-line
 * error pointing at `--rev`, not a warning and an empty diff.
 */
async function refuseRevisionTargets(
  targets: readonly string[],
  cwd: string,
  stages: readonly StageDef[],
): Promise<void> {
  const { isRevision } = await import("../../storage/read_at_revision.ts");
  for (const target of targets) {
    if (stages.some((stage) => stage.name === target || stage.baseName === target)) continue;
    if (lstatOrUndefined(resolve(cwd, target)) !== undefined) continue;
    if (await isRevision(cwd, target)) {
      const rest = targets.filter((t) => t !== target);
      throw new PivotError(
        `metrics diff: '${target}' is a git revision, not a metric file or stage: compare revisions with --rev (pivot metrics diff --rev ${target}${
          rest.length === 1 ? ` --rev ${rest[0]}` : ""
        })`,
      );
    }
  }
}
