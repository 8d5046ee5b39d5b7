/**
 * `pivot params show|diff [STAGES]`: the params each stage runs with, and
 * how they differ from git HEAD (or `--rev REV`). Output shapes are in
 * docs/params.md.
 *
 * @module
 */

import { dirname } from "node:path";
import { PivotError } from "../../errors.ts";
import { loadStagesWithProducers } from "../../pipeline/discovery.ts";
import { findPipelineFile } from "../../pipeline/find_project.ts";
import { type Command, intOption, subcommandError } from "../command.ts";
import { paramsAtRevision } from "../params_at_revision.ts";
import {
  diffParams,
  formatParamsDiff,
  formatParamsShow,
  type StageParams,
  type TableFormat,
} from "../params_table.ts";
import { diffNeed } from "../git_need.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

const USAGE = "params show|diff [STAGES...] [options]";

/** The `params` command. */
export const params: Command = {
  name: "params",
  summary: "Show the params of stages, or diff them with git HEAD (or --rev).",
  usage: USAGE,
  options: {
    json: { type: "boolean", help: "JSON on stdout" },
    md: { type: "boolean", help: "a Markdown table" },
    precision: {
      type: "string",
      value: "N",
      help: "round non-integer numbers to N decimals (0 to 20)",
    },
    rev: {
      type: "string",
      value: "REV",
      help: "diff: the git revision to compare with (default HEAD)",
    },
  },
  async run({ values, positionals }, env) {
    const [action, ...patterns] = positionals;
    if (action !== "show" && action !== "diff") {
      throw subcommandError("params", action, USAGE);
    }
    if (values.json && values.md) throw new PivotError("params: choose one of --json and --md");
    if (action === "show" && values.rev !== undefined) {
      throw new PivotError("params show: --rev applies to 'params diff' only");
    }
    const precision = intOption(values.precision, "precision", `params ${action}`, 0, 20);
    const format: TableFormat = values.json ? "json" : values.md ? "md" : "text";
    const warn = (message: string) => env.output.error(`warning: ${message}`);
    return await withSession(env, async (session) => {
      const { graph, project, state } = session.context;
      const stages = patterns.length > 0 ? selectStages(graph, patterns) : graph.order;
      const current: Record<string, Readonly<Record<string, unknown>>> = {};
      for (const stage of stages) current[stage.name] = stage.params;
      if (action === "show") {
        env.output.raw(formatParamsShow(withoutEmpty(current), { format, precision }));
        return 0;
      }
      const pipelineFile = findPipelineFile(project, env.cwd);
      const old = await paramsAtRevision({
        project,
        stages,
        allStages: patterns.length === 0,
        pipelineDir: dirname(pipelineFile),
        rev: (values.rev as string | undefined) ?? "HEAD",
        reload: async (paramsYaml) =>
          (await loadStagesWithProducers(project, pipelineFile, { paramsYaml, state })).stages,
        warn,
      });
      env.output.raw(formatParamsDiff(diffParams(old, current), { format, precision }));
      return 0;
    }, { git: action === "diff" ? diffNeed("params") : undefined });
  },
};

/** Stages that have params: one without any has no rows to show. */
function withoutEmpty(params: StageParams): StageParams {
  return Object.fromEntries(
    Object.entries(params).filter(([, values]) => Object.keys(values).length > 0),
  );
}
