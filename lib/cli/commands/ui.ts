/**
 * `pivot ui [--port N] [--host H] [--no-open]`: the local web UI (SPEC §11):
 * the live DAG, explanations, logs, and buttons to run stages. It watches
 * the pipeline as `repro --watch` does, but runs only what the page asks for.
 * The UI's code is loaded only by this command (and `repro --watch --ui`).
 *
 * @module
 */

import { type Command, intOption, noPositionals } from "../command.ts";
import { JOBS_OPTION, KEEP_GOING_OPTION } from "../repro_spec.ts";
import { withSession } from "../session.ts";
import { defaultJobs } from "../wave.ts";
import { uiOptionsOf, watch } from "../watch.ts";

/** The `ui` command. */
export const ui: Command = {
  name: "ui",
  summary: "Serve the web UI: the live pipeline graph, explanations, logs; run stages from it.",
  usage: "ui [options]",
  options: {
    port: { type: "string", value: "N", help: "port to listen on (default: a free one)" },
    host: {
      type: "string",
      value: "H",
      help: "address to listen on (default 127.0.0.1; others expose the UI to the network)",
    },
    "no-open": { type: "boolean", help: "do not open a browser" },
    jobs: JOBS_OPTION,
    "keep-going": KEEP_GOING_OPTION,
  },
  async run({ values, positionals }, env) {
    const options = uiOptionsOf(values, "ui");
    const jobs = intOption(values.jobs, "jobs", "ui");
    noPositionals("ui", positionals);
    return await withSession(env, async (session) =>
      await watch(
        session,
        { stages: [], force: false, debounceMs: 300, serve: false, run: false, ui: options },
        {
          keepGoing: Boolean(values["keep-going"]),
          jobs: jobs ?? defaultJobs(session),
          noCommit: false,
          json: false,
        },
        env,
      ));
  },
};
