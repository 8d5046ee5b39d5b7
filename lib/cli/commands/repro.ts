/**
 * `pivot repro [STAGES]`: run the named stages (default: all) and everything
 * upstream of them that is stale.
 *
 * @module
 */

import { type Command, intOption } from "../command.ts";
import { printExplanation, printStatusTable, statusJson } from "../explain.ts";
import { withSession } from "../session.ts";
import { selectWithUpstream } from "../targets.ts";
import { defaultJobs, runOnce } from "../wave.ts";
import { answersCommandLine } from "../noop_record.ts";
import { answerRecordedNoop } from "../noop_answer.ts";
import { PivotError } from "../../errors.ts";
import { REPRO_HEADING, REPRO_RECORD_OPTIONS } from "../repro_spec.ts";

/** The `repro` command. */
export const repro: Command = {
  ...REPRO_HEADING,
  options: {
    "dry-run": { type: "boolean", short: "n", help: "show what would run, run nothing" },
    explain: { type: "boolean", short: "e", help: "explain why each stage will run" },
    force: {
      type: "boolean",
      short: "f",
      help:
        "run the selected stages and every stage upstream of them, even if up to date (to force only a stage: pivot run -f STAGE)",
    },
    check: {
      type: "boolean",
      help: "type-check the pipeline (deno check) first; run nothing on a type error",
    },
    "keep-going": REPRO_RECORD_OPTIONS["keep-going"],
    jobs: REPRO_RECORD_OPTIONS.jobs,
    "no-commit": { type: "boolean", help: "run without writing locks, cache or state" },
    json: REPRO_RECORD_OPTIONS.json,
    watch: { type: "boolean", short: "w", help: "after the run, re-run what each change affects" },
    debounce: {
      type: "string",
      value: "MS",
      help: "with --watch: quiet time before a change starts a wave (default 300)",
    },
    serve: {
      type: "boolean",
      help: "with --watch: answer JSON-RPC on .pivot/agent.sock",
    },
    ui: { type: "boolean", help: "with --watch: serve the web UI (see 'pivot ui')" },
    port: { type: "string", value: "N", help: "with --ui: port (default: a free one)" },
    host: { type: "string", value: "H", help: "with --ui: address (default 127.0.0.1)" },
    "no-open": { type: "boolean", help: "with --ui: do not open a browser" },
  },
  async run({ values, positionals }, env) {
    const jobs = intOption(values.jobs, "jobs", "repro");
    const debounce = intOption(values.debounce, "debounce", "repro", 0);
    if (!values.watch && (debounce !== undefined || values.serve)) {
      throw new PivotError("repro: --debounce and --serve need --watch");
    }
    if (!values.watch && values.ui) throw new PivotError("repro: --ui needs --watch");
    if (
      !values.ui && (values.port !== undefined || values.host !== undefined || values["no-open"])
    ) {
      throw new PivotError("repro: --port, --host and --no-open need --watch --ui");
    }
    // Watch mode's modules (watcher, agent, UI) load only with --watch.
    const watchMode = values.watch ? await import("../watch.ts") : undefined;
    const ui = values.ui ? watchMode?.uiOptionsOf(values, "repro") : undefined;
    const check = values.check ? true : "config";
    // A no-op of every stage may be answered from the record of the last one.
    const noopRecord = !values.watch && answersCommandLine(env.args ?? [], "repro");
    return await withSession(env, async (session) => {
      const json = Boolean(values.json);
      if (session.recordedNoop !== undefined) {
        return await answerRecordedNoop(session, session.recordedNoop, { json }, env);
      }
      const { graph } = session.context;
      const stages = selectWithUpstream(graph, positionals);
      const force = new Set(values.force ? stages.map((s) => s.name) : []);
      if (values["dry-run"] || values.explain) {
        const { predict } = await import("../../engine/plan.ts");
        const decisions = await predict(session.context, stages, force);
        if (values["dry-run"] && values.json) {
          env.output.line(JSON.stringify({ stages: decisions.map(statusJson) }));
          return 0;
        }
        if (values.explain) printExplanation(env.output, decisions);
        else printStatusTable(env.output, decisions);
        if (values["dry-run"]) return 0;
      }
      const flags = {
        keepGoing: Boolean(values["keep-going"]),
        jobs: jobs ?? defaultJobs(session),
        noCommit: Boolean(values["no-commit"]),
        json: Boolean(values.json),
      };
      if (watchMode) {
        return await watchMode.watch(
          session,
          {
            stages: positionals,
            force: Boolean(values.force),
            debounceMs: debounce ?? 300,
            serve: Boolean(values.serve),
            run: true,
            ...(ui ? { ui } : {}),
          },
          flags,
          env,
        );
      }
      return await runOnce(
        session,
        {
          stages: positionals,
          force: Boolean(values.force),
          exact: false,
        },
        flags,
        env,
      );
    }, {
      check,
      // A plain no-op is decided from the load cache; forced or watched runs load the pipeline.
      ...(values.force || values.watch ? {} : { loadCache: "verified" as const }),
      // A run (not a preview, not watch mode): its first worker may start during the fingerprint.
      earlyWorker: !values.watch && !values["dry-run"] && !values.explain,
      noopRecord,
    });
  },
};
