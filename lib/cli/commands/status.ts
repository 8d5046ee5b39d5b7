/**
 * `pivot status [STAGES]`: what would run and why.
 *
 * @module
 */

import { predictStatus } from "../../engine/plan.ts";
import type { Command } from "../command.ts";
import { printExplanation, printStatusTable, statusJson } from "../explain.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";

/** The `status` command. */
export const status: Command = {
  name: "status",
  summary: "Show which stages would run and why.",
  usage: "status [STAGES...] [options]",
  options: {
    explain: { type: "boolean", short: "e", help: "show each change: code keys, params, deps" },
    json: { type: "boolean", help: "JSON on stdout (SPEC §6 shape)" },
    check: { type: "boolean", help: "exit 1 when any stage would run" },
  },
  async run({ values, positionals }, env) {
    return await withSession(env, async (session) => {
      const { graph } = session.context;
      const shown = positionals.length > 0 ? selectStages(graph, positionals) : graph.order;
      const decisions = await predictStatus(session.context, shown);
      if (values.json) {
        env.output.line(JSON.stringify({ stages: decisions.map(statusJson) }, null, 2));
      } else if (values.explain) printExplanation(env.output, decisions);
      else printStatusTable(env.output, decisions);
      return values.check && decisions.some((d) => d.status === "will-run") ? 1 : 0;
    });
  },
};
