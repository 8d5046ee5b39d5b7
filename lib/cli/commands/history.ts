/**
 * `pivot history [-n N] [--json]`: past runs, newest first, from the state
 * store: when, which command, how long, and what each stage did (docs/history.md).
 *
 * @module
 */

import { type Command, intOption, noPositionals } from "../command.ts";
import { runJson, runsTable } from "../run_report.ts";
import { withProject } from "../project_session.ts";

/** The `history` command. */
export const history: Command = {
  name: "history",
  summary: "List past runs (newest first): when, which command, what each stage did.",
  usage: "history [options]",
  options: {
    number: { type: "string", short: "n", value: "N", help: "the N latest runs (default 20)" },
    json: { type: "boolean", help: "JSON on stdout, with every stage of each run" },
  },
  async run({ values, positionals }, env) {
    noPositionals("history", positionals);
    const limit = intOption(values.number, "number", "history") ?? 20;
    return await withProject(env, async ({ state }) => {
      const { listRuns, readStages } = await import("../../storage/run_history.ts");
      const runs = await listRuns(state, limit);
      if (values.json) {
        const full = [];
        for (const run of runs) {
          full.push(runJson({ ...run, stages: await readStages(state, run) }));
        }
        env.output.line(JSON.stringify({ runs: full }, null, 2));
        return 0;
      }
      if (runs.length === 0) {
        env.output.line("No runs recorded yet: 'pivot repro' records one.");
        return 0;
      }
      env.output.raw(runsTable(runs));
      return 0;
    });
  },
};
