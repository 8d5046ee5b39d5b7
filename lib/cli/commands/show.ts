/**
 * `pivot show [RUN_ID] [--json]`: one past run (the latest by default) from
 * the state store, stage by stage (docs/history.md).
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import type { Command } from "../command.ts";
import { runDetail, runJson } from "../run_report.ts";
import { withProject } from "../project_session.ts";

/** The `show` command. */
export const show: Command = {
  name: "show",
  summary: "Show a past run (default: the latest) stage by stage.",
  usage: "show [RUN_ID] [options]   (RUN_ID: an id from 'pivot history', or a unique prefix)",
  options: {
    json: { type: "boolean", help: "JSON on stdout" },
  },
  async run({ values, positionals }, env) {
    if (positionals.length > 1) {
      throw new PivotError(`show: give one run id, got ${positionals.length}`);
    }
    const [id] = positionals;
    return await withProject(env, async ({ state }) => {
      const { AmbiguousRunId, readRun } = await import("../../storage/run_history.ts");
      let run;
      try {
        run = await readRun(state, id);
      } catch (error) {
        if (!(error instanceof AmbiguousRunId)) throw error;
        throw new PivotError(
          `show: run id '${id}' is ambiguous (${error.ids.join(", ")}): give more of it`,
        );
      }
      if (run === undefined) {
        if (id !== undefined) {
          throw new PivotError(`show: no run '${id}' in the history: see 'pivot history'`);
        }
        env.output.line("No runs recorded yet: 'pivot repro' records one.");
        return 0;
      }
      if (values.json) env.output.line(JSON.stringify(runJson(run), null, 2));
      else env.output.raw(runDetail(run));
      return 0;
    });
  },
};
