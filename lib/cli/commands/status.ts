/**
 * `pivot status [STAGES]`: what would run and why.
 *
 * @module
 */

import { stageKey } from "../../engine/context.ts";
import { predictStatus } from "../../engine/plan.ts";
import type { StageDef } from "../../model/stage_def.ts";
import type { Command } from "../command.ts";
import { printExplanation, printStatusTable, statusJson } from "../explain.ts";
import { printRemoteStatus, type RemoteStatus, remoteStatus } from "../remote_status.ts";
import { type Session, withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/** The `status` command. */
export const status: Command = {
  name: "status",
  summary: "Show which stages would run and why.",
  usage: "status [STAGES...] [options]",
  options: {
    explain: { type: "boolean", short: "e", help: "show each change: code keys, params, deps" },
    json: { type: "boolean", help: "JSON on stdout (SPEC §6 shape)" },
    check: {
      type: "boolean",
      help: "exit 1 when any stage would run (or, with --remote, the remote lacks something)",
    },
    remote: {
      type: "boolean",
      short: "c",
      help: "also say which outs and tracked data the remote lacks (as DVC's status -c)",
    },
    "remote-name": {
      type: "string",
      short: "r",
      value: "NAME",
      help: "the remote for --remote (default: core.remote, or the only one); implies --remote",
    },
  },
  async run({ values, positionals }, env) {
    return await withSession(env, async (session) => {
      const { graph } = session.context;
      const shown = positionals.length > 0 ? selectStages(graph, positionals) : graph.order;
      const decisions = await predictStatus(session.context, shown);
      const remote = values.remote || values["remote-name"] !== undefined
        ? await statusOfRemote(
          session,
          shown,
          positionals.length > 0,
          values["remote-name"] as string | undefined,
        )
        : undefined;
      if (values.json) {
        env.output.line(JSON.stringify(
          { stages: decisions.map(statusJson), ...(remote ? { remote } : {}) },
          null,
          2,
        ));
      } else {
        if (values.explain) printExplanation(env.output, decisions);
        else printStatusTable(env.output, decisions);
        if (remote) printRemoteStatus(env.output, remote);
      }
      const stale = decisions.some((d) => d.status === "will-run") ||
        (remote?.missing.length ?? 0) > 0;
      return values.check && stale ? 1 : 0;
    });
  },
};

/**
 * What the remote lacks of the outs of `shown` (their lock files' records)
 * and, when no stage is named, of the project's tracked data too.
 */
async function statusOfRemote(
  session: Session,
  shown: readonly StageDef[],
  named: boolean,
  requested: string | undefined,
): Promise<RemoteStatus> {
  const { project, state, cache } = session.context;
  const { readProjectConfig } = await import("../../pipeline/project_config.ts");
  const { readProjectRecords } = await import("../transfer_targets.ts");
  const skip = cache.dir.startsWith(project.root + "/") ? [cache.dir] : [];
  const records = await readProjectRecords(project, state, skip);
  const keys = new Set(shown.map((stage) => stageKey(session.context, stage)));
  const data = records.data.filter((item) => item.stage ? keys.has(item.stage.key) : !named);
  const stages = records.stages.filter((stage) => keys.has(stage.key));
  const config = await readProjectConfig(project, { state });
  return await remoteStatus(
    { project, config, state, cache },
    { data, stages, everything: !named },
    requested,
  );
}
