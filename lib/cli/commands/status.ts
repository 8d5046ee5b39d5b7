/**
 * `pivot status [STAGES]`: what would run and why, and (with no STAGES)
 * which tracked data changed since it was tracked.
 *
 * @module
 */

import { predictStatus } from "../../engine/plan.ts";
import type { Command } from "../command.ts";
import { printExplanation, printStatusTable, type ShownDecision, statusJson } from "../explain.ts";
import { answersCommandLine, upToDate } from "../noop_record.ts";
import { printRemoteStatus, remoteStatusOfStages } from "../remote_status.ts";
import { type Session, withSession } from "../session.ts";
import { mark } from "../../trace.ts";
import { selectStages } from "../targets.ts";
import { printTrackedStatus, trackedJson } from "../tracked_data.ts";

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
      help:
        "exit 1 when any stage would run or tracked data changed (or, with --remote, the remote lacks something)",
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
    // Every stage's status may be answered from the record of the last no-op.
    const noopRecord = answersCommandLine(env.args ?? [], "status");
    return await withSession(env, async (session: Session<string | undefined>) => {
      const { graph } = session.context;
      const shown = positionals.length > 0 ? selectStages(graph, positionals) : graph.order;
      const recorded = session.recordedNoop;
      // From the record, every stage is up to date, and the session holds no stages.
      const predicted = recorded === undefined
        ? await predictStatus(session.context, shown)
        : undefined;
      const decisions: readonly ShownDecision[] = predicted ?? recorded!.map(upToDate);
      const stageCount = recorded?.length ?? graph.order.length;
      mark("status: decided");
      // Tracked data (.pvt files) is the project's, not a stage's: shown when no stage is named.
      const { trackedStatus } = await import("../../storage/track.ts");
      const { walkSkips } = await import("../../storage/project_files.ts");
      const { project, cache } = session.context;
      const skip = walkSkips(project.root, cache.dir);
      const tracked = positionals.length > 0
        ? []
        : await trackedStatus(project.root, session.context.state, skip);
      mark("status: tracked data");
      const remote = values.remote || values["remote-name"] !== undefined
        ? await remoteStatusOfStages(
          session.context,
          shown,
          positionals.length > 0,
          values["remote-name"] as string | undefined,
        )
        : undefined;
      if (values.json) {
        env.output.line(JSON.stringify(
          {
            stages: decisions.map(statusJson),
            tracked: trackedJson(tracked),
            ...(remote ? { remote } : {}),
          },
          null,
          2,
        ));
      } else {
        // (`--explain` is never answered from the record: `predicted` is there.)
        if (values.explain && predicted !== undefined) printExplanation(env.output, predicted);
        else printStatusTable(env.output, decisions);
        printTrackedStatus(env.output, tracked);
        if (
          stageCount === 0 && !env.output.quiet &&
          tracked.every((t) => t.status === "up-to-date")
        ) {
          // Tracked data only (no pipeline): say so rather than print nothing.
          env.output.line(`No stages; the ${tracked.length} tracked paths are as recorded.`);
        }
        if (remote) printRemoteStatus(env.output, remote);
      }
      mark("status: printed");
      const stale = decisions.some((d) => d.status === "will-run") ||
        tracked.some((t) => t.status !== "up-to-date") ||
        (remote?.missing.length ?? 0) > 0;
      return values.check && stale ? 1 : 0;
    }, { trackedDataOnly: true, loadCache: "verified" as const, noopRecord });
  },
};
