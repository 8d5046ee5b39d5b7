/**
 * `pivot run STAGES`: run exactly these stages, with no upstream resolution.
 *
 * @module
 */

import { PivotError } from "../../errors.ts";
import { type Command, intOption } from "../command.ts";
import { JOBS_OPTION, JSON_EVENTS_OPTION } from "../repro_spec.ts";
import { withSession } from "../session.ts";
import { selectStages } from "../targets.ts";
import { defaultJobs, runOnce } from "../wave.ts";

/** The `run` command. */
export const run: Command = {
  name: "run",
  summary: "Run exactly the named stages (no upstream stages), skipping those up to date.",
  usage: "run STAGES... [options]",
  options: {
    force: { type: "boolean", short: "f", help: "run even if up to date" },
    "fail-fast": { type: "boolean", help: "stop starting stages after a failure" },
    jobs: JOBS_OPTION,
    json: JSON_EVENTS_OPTION,
    check: {
      type: "boolean",
      help: "type-check the pipeline (deno check) first; run nothing on a type error",
    },
  },
  async run({ values, positionals }, env) {
    if (positionals.length === 0) {
      throw new PivotError(
        "run: name the stages to run (pivot run STAGE...); to run all, use 'pivot repro'",
      );
    }
    const jobs = intOption(values.jobs, "jobs", "run");
    return await withSession(env, async (session) => {
      selectStages(session.context.graph, positionals); // unknown names: a usage error, exit 2
      return await runOnce(session, {
        stages: positionals,
        force: Boolean(values.force),
        exact: true,
      }, {
        keepGoing: !values["fail-fast"],
        jobs: jobs ?? defaultJobs(session),
        noCommit: false,
        json: Boolean(values.json),
      }, env);
    }, { check: values.check ? true : "config" });
  },
};
